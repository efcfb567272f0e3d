"""The Studio web app: one page with a header (product, current project) and a tab per view.

Moving between views is a tab switch plus one small request (measured in docs/ui.md); the
address bar names the view (``?view=...``), so a refresh or a shared link opens the same one.
"""
from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import urlencode

import gradio as gr
from starlette.responses import RedirectResponse
from starlette.routing import Route

from studio.auth.hub_users import HubUsers
from studio.paths import survives_restart
from studio.services.access_policy import may_administer
from studio.ui import (admin, chat, compare, datasets, deployments, experiment_detail, experiments, home, project_bar,
                       session, settings, studies, study)
from studio.ui.session import with_session
from studio.ui.plotly_preload import preload_script
from studio.ui.view import View

ASSETS = Path(__file__).resolve().parents[2] / "assets"
CSS_PATH = ASSETS / "css" / "studio.css"
# The router, and the Textbox fix that makes every edit (not only a keypress) a Gradio "input" event.
HEAD_SCRIPTS = [ASSETS / "js" / "router.js", ASSETS / "js" / "textbox_edits.js"]

# (id used in ?view=, tab label, page module); "experiment", "compare" and "study" have no tab button (they open
# from a list).
VIEWS = [
    ("home", "Home", home),
    ("datasets", "Datasets", datasets),
    ("experiments", "Experiments", experiments),
    ("experiment", "Experiment", experiment_detail),
    ("compare", "Compare", compare),
    ("studies", "Studies", studies),
    ("study", "Study", study),
    ("deployments", "Deployments", deployments),
    ("chat", "Chat", chat),
    ("settings", "Settings", settings),
    ("admin", "Admin", admin),  # shown to admins only
]
ADMIN_ONLY_VIEWS = ("admin",)
HUB_SIGN_IN_PROMPT = ("### Sign in with Hugging Face to use this Studio\nPress **Sign in with Hugging Face** "
                      "above. What you create is yours: others see it but only you (or an admin) stop or delete it.")
SIGNED_IN_HTML = "<div class='studio-user' id='studio-user'>Signed in as <b>{name}</b> ({role})</div>"
SIGN_OUT_HTML = ("<div class='studio-user' id='studio-user'>Signed in as <b>{name}</b> ({role}) · "
                 "<a href='logout' id='studio-sign-out'>Sign out</a></div>")


EPHEMERAL_BANNER = ("⚠ **Data here does not survive a restart.** This Space has no persistent storage, so its "
                    "datasets, runs and models live in a temporary folder. To keep them, duplicate the Space and "
                    "add persistent storage (mounted at `/data`; Studio then uses `/data/studio`).")


def build_app(ctx) -> gr.Blocks:
    with gr.Blocks(title="Studio") as demo:
        query = gr.Textbox(visible=False)  # stands for the browser's address in every view event
        with gr.Row(equal_height=True, elem_id="studio-header", elem_classes=["studio-header"]):
            gr.HTML("<div class='studio-brand'><span class='studio-logo'>◆</span> Studio</div>",
                    elem_classes=["studio-brand-cell"], padding=False)
            bar = project_bar.build(ctx)
            signed_in = gr.HTML(visible=False, elem_id="studio-user-cell", padding=False)
            if hub_sign_in(ctx):  # Gradio adds its /login/huggingface routes for this button
                gr.LoginButton(size="sm", scale=0, min_width=200, elem_id="studio-hub-login")
        sign_in_prompt = gr.Markdown(HUB_SIGN_IN_PROMPT, visible=False, elem_id="studio-sign-in-prompt")
        if not survives_restart(ctx.home):
            gr.Markdown(EPHEMERAL_BANNER, elem_id="ephemeral-banner")
        with gr.Tabs(elem_id="studio-nav", overflow_behavior="wrap") as tabs:
            views, admin_tabs = [], []
            for name, label, module in VIEWS:
                with gr.Tab(label, id=name, elem_id=f"view-{name}", visible=name not in ADMIN_ONLY_VIEWS) as tab:
                    view = View(name, tab, demo, query, bar["events"])
                    module.build(ctx, view)
                    view.finish()
                    views.append(view)
                if name in ADMIN_ONLY_VIEWS:
                    admin_tabs.append(tab)
        # The address picks the tab, in the browser (assets/js/router.js); the views' own loads read it too.
        demo.load(None, None, None, js="() => window.studioShowAddressed()")
        demo.load(bar["values"], None, [bar["project"]], show_progress="hidden")
        demo.load(with_session(lambda: _who(ctx, len(admin_tabs))), None,
                  [signed_in, sign_in_prompt, tabs, bar["project"], bar["manage"]] + admin_tabs,
                  show_progress="hidden").then(None, None, None, js="() => window.studioShowAddressed()")  # ?view=admin
    return demo


def hub_sign_in(ctx) -> bool:
    """Whether visitors sign in with Hugging Face (a Space with hf_oauth: true)."""
    return isinstance(ctx.users, HubUsers)


def _who(ctx, admin_tab_count: int) -> list:
    """The header's "Signed in as" line, and the admin-only tabs shown to admins; with Hugging Face
    sign-in, a visitor not signed in sees only the sign-in prompt (the services refuse them too)."""
    actor = session.actor(ctx)
    hub = hub_sign_in(ctx)
    who = SIGNED_IN_HTML if hub else SIGN_OUT_HTML  # with Hugging Face, Gradio's LoginButton signs out
    line = gr.update(visible=ctx.users is not None and actor.name is not None,
                     value=who.format(name=html.escape(actor.name or ""), role=actor.role))
    outside = hub and actor.name is None
    shown = gr.update() if not outside else gr.update(visible=False)
    return [line, gr.update(visible=outside), shown, shown, shown] + \
        [gr.Tab(visible=may_administer(actor))] * admin_tab_count


def legacy_routes() -> list[Route]:
    """Addresses of the former one-URL-per-page app (bookmarks, shared links) open the same view."""

    def redirect(request):
        view = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        # Relative, so it also works under a path prefix: /experiment?id=x → /?view=experiment&id=x
        return RedirectResponse("./?" + urlencode({"view": view, **request.query_params}))

    return [Route(f"/{name}", redirect) for name, _, _ in VIEWS if name != "home"]


def css() -> str:
    return CSS_PATH.read_text(encoding="utf-8")


def head() -> str:
    return "".join("<script>" + path.read_text(encoding="utf-8") + "</script>" for path in HEAD_SCRIPTS) \
        + preload_script()
