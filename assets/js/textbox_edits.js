// Gradio 6.31's Textbox fires its "input" event from keypress only, so an edit without a
// keypress (Backspace, Delete, cut, paste, drop, autofill) changed the box without telling the
// app: a cleared search kept the list filtered, and a dialog field shortened with Backspace left
// the YAML stale. Each such edit gets a keypress, which Gradio's own handler turns into its
// "input" event with the box's new value.
(() => {
  let typedInto = null;
  document.addEventListener("keypress", (event) => {
    if (event.isTrusted) typedInto = event.target;
  }, true);
  document.addEventListener("input", (event) => {
    const box = event.target;
    const typed = typedInto === box;
    typedInto = null;
    if (typed || event.isComposing || !box.matches || !box.matches("[data-testid=textbox]")) return;
    box.dispatchEvent(new KeyboardEvent("keypress", { key: "Unidentified", bubbles: true }));
  }, true);
})();
