// A single-page app with no library: authorization code + PKCE (S256 through WebCrypto), the code
// exchanged and refreshed at /token and the profile read at /userinfo, all through CORS. In
// "password" mode it does what Swagger UI's password flow does: a POST to /token with Basic client
// authentication (which needs a preflight). The outcome goes to #result as JSON.
(async () => {
  const cfg = document.body.dataset;
  const out = document.getElementById("result");
  const show = (value) => {
    out.textContent = JSON.stringify(value);
    out.dataset.done = "yes";
  };
  const b64url = (bytes) =>
    btoa(String.fromCharCode(...new Uint8Array(bytes)))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
  const form = (fields) => new URLSearchParams(fields);
  const post = (fields, headers) =>
    fetch(cfg.issuer + "/token", { method: "POST", headers: headers || {}, body: form(fields) });
  try {
    if (cfg.mode === "password") {
      const basic = "Basic " + btoa(cfg.clientId + ":" + cfg.clientSecret);
      const response = await post(
        { grant_type: "password", username: cfg.username, password: cfg.password, scope: "openid profile" },
        { Authorization: basic },
      );
      const tokens = await response.json();
      show({ status: response.status, access_token: Boolean(tokens.access_token), token_type: tokens.token_type });
      return;
    }
    const params = new URLSearchParams(location.search);
    const redirectUri = location.origin + "/callback";
    if (!params.has("code")) {
      const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
      const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
      const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
      sessionStorage.setItem("pkce", JSON.stringify({ verifier, state }));
      const url = new URL(cfg.issuer + "/authorize");
      url.search = form({
        response_type: "code",
        client_id: cfg.clientId,
        redirect_uri: redirectUri,
        scope: "openid profile",
        state,
        code_challenge: b64url(digest),
        code_challenge_method: "S256",
      }).toString();
      location.assign(url.toString());
      return;
    }
    const saved = JSON.parse(sessionStorage.getItem("pkce"));
    if (params.get("state") !== saved.state) {
      throw new Error("state mismatch");
    }
    const exchanged = await post({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: redirectUri,
      client_id: cfg.clientId,
      code_verifier: saved.verifier,
    });
    const tokens = await exchanged.json();
    const refreshed = await post({
      grant_type: "refresh_token",
      refresh_token: tokens.refresh_token,
      client_id: cfg.clientId,
    });
    const again = await refreshed.json();
    const info = await fetch(cfg.issuer + "/userinfo", {
      headers: { Authorization: "Bearer " + again.access_token },
    });
    const claims = await info.json();
    show({
      exchange: exchanged.status,
      id_token: Boolean(tokens.id_token),
      refresh_token: Boolean(tokens.refresh_token),
      refresh: refreshed.status,
      new_access_token: Boolean(again.access_token) && again.access_token !== tokens.access_token,
      rotated: Boolean(again.refresh_token) && again.refresh_token !== tokens.refresh_token,
      userinfo: info.status,
      sub: claims.sub,
      preferred_username: claims.preferred_username,
    });
  } catch (error) {
    show({ error: String(error) });
  }
})();
