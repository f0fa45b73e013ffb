//! A short, human summary of the browser a session was started from ("Chrome on Linux"), read
//! from its `User-Agent` header (RFC 9110 §10.1.5) and shown on the account page next to each
//! session. Only a summary is kept, never the raw header: it is bounded, printable, and says no
//! more than a person needs to recognise their own devices.

/// The longest summary stored (characters).
pub const MAX_SUMMARY_CHARS: usize = 64;

/// Browsers, most specific first: several of them also claim to be the ones after them
/// (Edge and Opera say "Chrome", Chrome says "Safari").
const BROWSERS: &[(&str, &str)] = &[
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("Vivaldi/", "Vivaldi"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("YaBrowser/", "Yandex Browser"),
    ("FxiOS/", "Firefox"),
    ("Firefox/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("HeadlessChrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Version/", "Safari"),
    ("curl/", "curl"),
    ("Wget/", "Wget"),
];

/// Operating systems, most specific first (Android says "Linux", iOS says "like Mac OS X").
const SYSTEMS: &[(&str, &str)] = &[
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
    ("FreeBSD", "FreeBSD"),
    ("OpenBSD", "OpenBSD"),
];

/// A summary of `user_agent` such as "Firefox on Windows"; `None` for a missing or empty header.
/// Whatever is not recognised is summarised by its first product token, cleaned and bounded.
pub fn summary(user_agent: Option<&str>) -> Option<String> {
    let user_agent = user_agent.map(str::trim).filter(|ua| !ua.is_empty())?;
    let browser = BROWSERS
        .iter()
        .find(|(token, _)| user_agent.contains(token))
        .map(|(_, name)| *name);
    let system = SYSTEMS
        .iter()
        .find(|(token, _)| user_agent.contains(token))
        .map(|(_, name)| *name);
    let text = match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        (None, Some(system)) => format!("A browser on {system}"),
        (None, None) => first_product(user_agent),
    };
    Some(bounded(&text)).filter(|s| !s.is_empty())
}

/// The first product token without its version ("MyTool/1.2 (x)" → "MyTool").
fn first_product(user_agent: &str) -> String {
    let token = user_agent.split_whitespace().next().unwrap_or_default();
    token.split('/').next().unwrap_or_default().to_owned()
}

/// Printable characters only, at most [`MAX_SUMMARY_CHARS`] of them.
fn bounded(text: &str) -> String {
    text.chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .take(MAX_SUMMARY_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::summary;

    fn says(user_agent: &str) -> String {
        summary(Some(user_agent)).unwrap()
    }

    #[test]
    fn common_desktop_browsers() {
        assert_eq!(
            says("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"),
            "Chrome on Linux"
        );
        assert_eq!(
            says(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
            ),
            "Firefox on Windows"
        );
        assert_eq!(
            says("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15"),
            "Safari on macOS"
        );
        assert_eq!(
            says("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.61"),
            "Edge on Windows"
        );
        assert_eq!(
            says("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0"),
            "Opera on Linux"
        );
        assert_eq!(
            says("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36"),
            "Chrome on Linux"
        );
    }

    #[test]
    fn phones_and_tablets_are_not_taken_for_the_systems_they_mention() {
        assert_eq!(
            says("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 Mobile Safari/537.36"),
            "Chrome on Android"
        );
        assert_eq!(
            says("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"),
            "Safari on iPhone"
        );
        assert_eq!(
            says("Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1"),
            "Chrome on iPad"
        );
        assert_eq!(
            says("Mozilla/5.0 (Linux; Android 13; SM-S908B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36"),
            "Samsung Internet on Android"
        );
        assert_eq!(
            says("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"),
            "Chrome on ChromeOS"
        );
    }

    #[test]
    fn tools_and_unknown_agents_are_named_by_their_first_product() {
        assert_eq!(says("curl/8.5.0"), "curl");
        assert_eq!(says("reqwest-test/0.1"), "reqwest-test");
        assert_eq!(
            says("Mozilla/5.0 (Windows NT 10.0)"),
            "A browser on Windows"
        );
        assert_eq!(summary(None), None);
        assert_eq!(summary(Some("   ")), None);
    }

    #[test]
    fn the_summary_is_bounded_and_printable() {
        let long = format!("{}/1.0", "x".repeat(1000));
        assert_eq!(says(&long).chars().count(), super::MAX_SUMMARY_CHARS);
        assert_eq!(says("Evil\u{202E}Tool\u{7}/1"), "EvilTool");
        assert_eq!(summary(Some("/1.0")), None);
    }
}
