"""On a Space with hf_oauth (SYSTEM=spaces and the OAUTH_* variables Hugging Face sets), the app
starts with Gradio's *real* OAuth routes (authlib), and "Sign in with Hugging Face" sends the browser
to the OpenID provider's authorize page with this Space's client id and callback. The provider is a
local stand-in serving the discovery document; the consent page and the token exchange that follow
on huggingface.co are not exercised."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.ui.browser_app import running_app


class Provider(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        base = f"http://{self.headers['Host']}"
        found = self.path == "/.well-known/openid-configuration"
        body = json.dumps({"issuer": base, "authorization_endpoint": f"{base}/oauth/authorize",
                           "token_endpoint": f"{base}/oauth/token", "userinfo_endpoint": f"{base}/oauth/userinfo",
                           "jwks_uri": f"{base}/oauth/jwks"} if found else {}).encode()
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture()
def provider():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_sign_in_on_a_space_redirects_to_the_provider_with_this_spaces_client(tmp_path, monkeypatch, provider):
    for key, value in {"SYSTEM": "spaces", "SPACE_ID": "owner/studio", "SPACE_AUTHOR_NAME": "owner",
                       "OAUTH_CLIENT_ID": "standin-client", "OAUTH_CLIENT_SECRET": "standin-secret",
                       "OAUTH_SCOPES": "openid profile", "OPENID_PROVIDER_URL": provider,
                       "STUDIO_DEMO": "0", "HF_HUB_OFFLINE": "1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SPACE_HOST", raising=False)
    monkeypatch.delenv("STUDIO_AUTH_FILE", raising=False)
    with running_app(tmp_path / "home", tmp_path / "app.log", lambda _home: []) as url:
        opener = urllib.request.build_opener(NoRedirects)
        with pytest.raises(urllib.error.HTTPError) as redirected:
            opener.open(f"{url}/login/huggingface", timeout=30)
    assert redirected.value.code == 302, (tmp_path / "app.log").read_text()[-2000:]
    target = urllib.parse.urlparse(redirected.value.headers["Location"])
    query = urllib.parse.parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{provider}/oauth/authorize"
    assert query["client_id"] == ["standin-client"] and query["scope"] == ["openid profile"]
    assert query["redirect_uri"][0].startswith(f"{url}/login/callback")
