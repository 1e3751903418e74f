//! A provider's base URL, parsed once, and a call's URL made from it.
//!
//! reqwest parses the URL of every request it is given as text. Parsing the scheme and host again for each
//! provider call was about 1 % of `byok serve`'s CPU per request; here the base is parsed when the client is
//! built and each call only sets its path and query, which gives the URL that parsing `base + path` gives
//! (the tests compare them). Anything unusual (a base that is not already in its parsed form, a path that
//! does not start with `/`, a fragment) is left to the full parse.

use reqwest::Url;

use crate::config::ProviderUrls;
use crate::domain::provider::Provider;

/// Each provider's [`Base`].
#[derive(Debug, Clone)]
pub(crate) struct Bases([Base; 4]);

impl Bases {
    pub fn new(urls: &ProviderUrls) -> Self {
        Self(
            [
                Provider::OpenAi,
                Provider::Anthropic,
                Provider::Google,
                Provider::Xai,
            ]
            .map(|p| Base::new(urls.get(p))),
        )
    }

    pub fn get(&self, provider: Provider) -> &Base {
        let at = match provider {
            Provider::OpenAi => 0,
            Provider::Anthropic => 1,
            Provider::Google => 2,
            Provider::Xai => 3,
        };
        &self.0[at]
    }
}

/// A configured base URL (`https://api.openai.com`, or an operator's `http://host:port/prefix`).
#[derive(Debug, Clone)]
pub(crate) struct Base {
    text: String,
    /// The base parsed, when joining a path to it is exactly a parse of the joined text; and the path
    /// that comes before a call's own.
    parsed: Option<(Url, String)>,
}

/// Where a call goes: a URL built from the parsed base, or the text for reqwest to parse.
pub(crate) enum Target {
    Parsed(Url),
    Text(String),
}

impl Base {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            parsed: parsed(text),
        }
    }

    /// The URL of `path` (starting with `/`, with an optional `?query`) under this base.
    pub fn join(&self, path: &str) -> Target {
        match &self.parsed {
            Some((base, prefix)) if path.starts_with('/') && !path.contains(['#', '\\']) => {
                let (path, query) = match path.split_once('?') {
                    Some((path, query)) => (path, Some(query)),
                    None => (path, None),
                };
                let mut url = base.clone();
                url.set_path(&format!("{prefix}{path}"));
                url.set_query(query);
                Target::Parsed(url)
            }
            _ => Target::Text(format!("{}{path}", self.text)),
        }
    }
}

/// `text` parsed, when setting a path (and query) on it gives what parsing `text + path` gives: an http(s)
/// URL with neither query nor fragment, already written as the parser writes it (up to the `/` it adds
/// after a bare host). The prefix is the base's own path, empty for a bare host.
fn parsed(text: &str) -> Option<(Url, String)> {
    let url = Url::parse(text).ok()?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.query().is_none()
        && url.fragment().is_none()
        && !url.cannot_be_a_base();
    let prefix = if url.as_str() == text {
        url.path().to_owned()
    } else if url.as_str().strip_suffix('/') == Some(text) && url.path() == "/" {
        String::new()
    } else {
        return None;
    };
    plain.then_some((url, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What reqwest is given, as the URL it requests.
    fn joined(base: &str, path: &str) -> Result<String, String> {
        match Base::new(base).join(path) {
            Target::Parsed(url) => Ok(url.to_string()),
            Target::Text(text) => parse(&text),
        }
    }

    fn parse(text: &str) -> Result<String, String> {
        Url::parse(text)
            .map(|u| u.to_string())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_joined_url_is_what_parsing_the_joined_text_gives() {
        let bases = [
            "https://api.openai.com",
            "https://api.openai.com/",
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/mock/openai",
            "http://127.0.0.1:8080/mock/openai/",
            "http://[::1]:9000/x",
            "https://generativelanguage.googleapis.com",
            "https://EXAMPLE.com:443/A%20b",
        ];
        let paths = [
            "/v1/chat/completions",
            "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
            "/v1beta/models/a b/c?x=1&y=2 3",
            "/v1/../v2/./models",
            "/v1/models/é%2F?q=é",
            "/v1/models?",
            "//double",
            "/frag#ment",
            "/back\\slash",
            "relative",
        ];
        for base in bases {
            for path in paths {
                let want = parse(&format!("{base}{path}"));
                assert_eq!(joined(base, path), want, "{base} + {path}");
            }
        }
    }

    #[test]
    fn the_common_bases_take_the_parsed_path() {
        for base in ["https://api.anthropic.com", "http://127.0.0.1:1/prefix"] {
            assert!(matches!(
                Base::new(base).join("/v1/messages"),
                Target::Parsed(_)
            ));
        }
        for base in ["https://h/x?k=1", "not a url", "HTTPS://api.x.ai"] {
            assert!(
                matches!(Base::new(base).join("/v1"), Target::Text(_)),
                "{base}"
            );
        }
    }
}
