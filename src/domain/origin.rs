//! Web origins (RFC 6454) a client's browser code runs on, for CORS (Fetch Standard §3.2) on the
//! token, userinfo and revocation endpoints: stored and compared in their ASCII serialisation
//! (`scheme://host[:port]`), exactly as browsers send them in the `Origin` header.

use url::Url;

/// A registered web origin: https, or http on a loopback host (as redirect URIs), with no path,
/// query, fragment or credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebOrigin(String);

impl WebOrigin {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("web origin `{raw}` {why}");
        let url = Url::parse(raw).map_err(|_| bad("is not an absolute URL"))?;
        match url.scheme() {
            "https" => {}
            "http" if matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")) => {}
            "http" => return Err(bad("uses http on a non-loopback host; use https")),
            _ => return Err(bad("must use https")),
        }
        let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
        if !bare || !url.username().is_empty() || url.password().is_some() {
            return Err(bad("must be scheme://host[:port] with nothing after it"));
        }
        let origin = url.origin().ascii_serialization();
        if origin == "null" {
            return Err(bad("has no origin"));
        }
        Ok(Self(origin))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Most web origins one client may register.
pub const MAX_WEB_ORIGINS: usize = 32;

/// A client's web origins: each parsed, without repeats, at most [`MAX_WEB_ORIGINS`].
pub fn parse_all(raws: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for raw in raws {
        let origin = WebOrigin::parse(raw.trim())?;
        if !out.iter().any(|o| o == origin.as_str()) {
            out.push(origin.0);
        }
    }
    if out.len() > MAX_WEB_ORIGINS {
        return Err(format!(
            "a client has at most {MAX_WEB_ORIGINS} web origins"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_serialised_as_browsers_send_them() {
        let ok = |raw: &str| WebOrigin::parse(raw).map(|o| o.0);
        assert_eq!(
            ok("https://App.example").as_deref(),
            Ok("https://app.example")
        );
        assert_eq!(
            ok("https://app.example:443/").as_deref(),
            Ok("https://app.example")
        );
        assert_eq!(
            ok("http://127.0.0.1:5173").as_deref(),
            Ok("http://127.0.0.1:5173")
        );
        assert!(ok("http://app.example").is_err());
        assert!(ok("https://app.example/path").is_err());
        assert!(ok("https://user@app.example").is_err());
        assert!(ok("*").is_err());
        assert!(ok("null").is_err());
        assert!(ok("file:///x").is_err());
    }
}
