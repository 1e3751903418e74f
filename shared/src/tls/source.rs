//! Where the process's CA roots come from (`BYOK_TLS_ROOTS`).

/// The CA roots both HTTPS clients trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootsSource {
    /// The platform's store: the files `SSL_CERT_FILE` / `SSL_CERT_DIR` name when set, else the system's.
    Platform,
    /// Mozilla's roots compiled into the binary (`webpki-roots`): nothing to read or parse at start.
    Bundled,
}

impl RootsSource {
    /// `BYOK_TLS_ROOTS` = `platform` | `bundled`. Unset: `bundled` on Lambda unless `SSL_CERT_FILE` or
    /// `SSL_CERT_DIR` is set, else `platform`.
    ///
    /// On Lambda the system store is the runtime image's, which a zip deployment cannot change: an operator's
    /// own CA reaches the function only through `SSL_CERT_FILE` / `SSL_CERT_DIR` (a file in a layer), and
    /// those still choose the platform's roots. Reading and parsing the image's bundle was the largest part of
    /// the router's init. Off Lambda (`byok serve`), an operator may have added a CA to the system store, so
    /// the platform's roots stay the default there.
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, String> {
        let set = |name: &str| env(name).is_some_and(|v| !v.trim().is_empty());
        match env("BYOK_TLS_ROOTS").as_deref().map(str::trim) {
            Some("platform") => Ok(Self::Platform),
            Some("bundled") => Ok(Self::Bundled),
            Some(other) => Err(format!("{other:?} is not platform or bundled")),
            None if set("AWS_LAMBDA_RUNTIME_API")
                && !set("SSL_CERT_FILE")
                && !set("SSL_CERT_DIR") =>
            {
                Ok(Self::Bundled)
            }
            None => Ok(Self::Platform),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(vars: &[(&str, &str)]) -> Result<RootsSource, String> {
        RootsSource::from_lookup(&|k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn lambda_uses_the_bundled_roots_unless_told_otherwise() {
        let lambda = ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001");
        assert_eq!(source(&[lambda]), Ok(RootsSource::Bundled));
        assert_eq!(
            source(&[lambda, ("SSL_CERT_FILE", "/opt/ca.pem")]),
            Ok(RootsSource::Platform)
        );
        assert_eq!(
            source(&[lambda, ("SSL_CERT_DIR", "/opt/certs")]),
            Ok(RootsSource::Platform)
        );
        assert_eq!(
            source(&[lambda, ("BYOK_TLS_ROOTS", "platform")]),
            Ok(RootsSource::Platform)
        );
    }

    #[test]
    fn elsewhere_the_platform_roots_are_the_default() {
        assert_eq!(source(&[]), Ok(RootsSource::Platform));
        assert_eq!(source(&[("SSL_CERT_FILE", "")]), Ok(RootsSource::Platform));
        assert_eq!(
            source(&[("BYOK_TLS_ROOTS", "bundled")]),
            Ok(RootsSource::Bundled)
        );
    }

    #[test]
    fn an_unknown_value_is_refused() {
        let refused = source(&[("BYOK_TLS_ROOTS", "mozilla")]).unwrap_err();
        assert!(refused.contains("platform or bundled"), "{refused}");
    }
}
