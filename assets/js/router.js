// Studio's views are tabs of one page; this keeps the address bar and the shown tab in step.
// studioGo("experiment?id=x") (or a click on a link to "?view=experiment&id=x") shows the view
// without a page load; Back/Forward and the tab bar keep the address right, so a refresh or a
// shared link opens the same view.
(() => {
  const VIEWS = ["home", "datasets", "experiments", "experiment", "compare", "studies", "study", "deployments", "chat",
                 "settings", "admin"];

  function parse(target) {
    const url = new URL(target, window.location.href);
    const params = new URLSearchParams(url.search);
    let view = params.get("view");
    if (!view) {
      const last = url.pathname.split("/").filter(Boolean).pop() || "home";
      view = VIEWS.includes(last) ? last : null;
    }
    if (!view || !VIEWS.includes(view) || url.origin !== window.location.origin) return null;
    params.delete("view");
    const rest = params.toString();
    return { view, search: "?view=" + view + (rest ? "&" + rest : "") };
  }

  function show(view) {
    const button = document.querySelector(`#studio-nav button[role=tab][data-tab-id="${view}"]`);
    if (!button) return false;
    if (button.getAttribute("aria-selected") === "true") document.getElementById(`reshow-${view}`)?.click();
    else button.click();
    return true;
  }

  // Until the user or the app moves, a tab select is Gradio's own while the page opens, and the
  // view it shows was drawn by the page load (studio/ui/view.py: SELECT_JS).
  window.studioMoved = false;

  // The page opened (or a tab was clicked while it opened): show the tab the address names. Done
  // here, at once, not by a reply from the app, which arrived after an early click and undid it.
  window.studioShowAddressed = () => {
    const route = parse(window.location.href);
    const button = document.querySelector(
      `#studio-nav button[role=tab][data-tab-id="${route ? route.view : "home"}"]`);
    if (button && button.getAttribute("aria-selected") !== "true") button.click();
  };

  window.studioGo = (target, replace) => {
    window.studioMoved = true;
    const route = parse(target);
    if (!route) { window.location.href = target; return; }
    const address = window.location.pathname + route.search;
    if (replace) history.replaceState({}, "", address);
    else if (window.location.search !== route.search) history.pushState({}, "", address);
    // The tab's select event reads the new address (see studio/ui/view.py).
    if (!show(route.view)) window.location.href = address;
  };

  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    const tab = event.target.closest("#studio-nav button[role=tab]");
    if (tab && event.isTrusted) {  // the user picked a tab: the address follows
      window.studioMoved = true;
      const view = tab.dataset.tabId;
      if (VIEWS.includes(view)) history.pushState({}, "", window.location.pathname + "?view=" + view);
      return;
    }
    const link = event.target.closest("a[href]");
    if (!link || link.target === "_blank" || link.hasAttribute("download")) return;
    const route = parse(link.getAttribute("href"));
    if (!route) return;
    event.preventDefault();
    window.studioGo(link.getAttribute("href"));
  }, true);

  window.addEventListener("popstate", () => {
    window.studioMoved = true;
    const route = parse(window.location.href);
    if (route) show(route.view);
  });
})();
