//! Where the stream goes: `--ingest-url` as a tonic endpoint, over plaintext or TLS (and mTLS with
//! a client certificate). Which CA vouches for ingest is kept, because "certificate not trusted"
//! means little until it says trusted by whom.

use std::{path::Path, sync::Arc, time::Duration};

use anyhow::Context as _;
use sensorpipe::config::read_secret_file;
use tonic::{
    metadata::{Ascii, MetadataValue},
    transport::{Certificate, ClientTlsConfig, Endpoint, Identity},
};

use crate::config::ClientTlsArgs;

/// The endpoint to (re)connect to, the CA file that must have signed its certificate, and the
/// `authorization` header every stream carries.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) endpoint: Endpoint,
    ca_file: Option<Arc<Path>>,
    pub(crate) authorization: Option<MetadataValue<Ascii>>,
}

impl Target {
    /// The endpoint for `--ingest-url`, with HTTP/2 keep-alives so a silently dead connection is
    /// noticed in seconds rather than never. `https://` needs `--tls-ca-file`: the generator
    /// trusts no system store, only the CA it is told about.
    pub(crate) fn new(url: &str, tls: &ClientTlsArgs) -> anyhow::Result<Self> {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|error| anyhow::anyhow!("invalid --ingest-url `{url}`: {error}"))?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(10))
            .keep_alive_while_idle(true);
        match (endpoint.uri().scheme_str(), &tls.tls_ca_file) {
            (Some("http"), None) if tls.tls_cert_file.is_none() && tls.tls_key_file.is_none() => {
                Ok(Self {
                    endpoint,
                    ca_file: None,
                    authorization: None,
                })
            }
            (Some("http"), _) => anyhow::bail!(
                "--tls-ca-file, --tls-cert-file and --tls-key-file need an https:// --ingest-url, \
                 not `{url}`"
            ),
            (Some("https"), None) => anyhow::bail!(
                "--ingest-url `{url}` is https: give --tls-ca-file (GENERATOR_TLS_CA_FILE), the CA \
                 that signed ingest's certificate"
            ),
            (Some("https"), Some(ca_file)) => {
                let config = client_tls(ca_file, tls)?;
                Ok(Self {
                    endpoint: endpoint
                        .tls_config(config)
                        .with_context(|| format!("cannot use TLS for `{url}`"))?,
                    ca_file: Some(ca_file.as_path().into()),
                    authorization: None,
                })
            }
            _ => {
                anyhow::bail!("invalid --ingest-url `{url}`: expected http:// or https://host:port")
            }
        }
    }

    /// Sends `Bearer <token>` from `--token-file` on every stream, marked sensitive so it is
    /// never printed; without a file, no token (only an ingest with --insecure-no-auth accepts
    /// that).
    pub(crate) fn with_token_file(mut self, path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(self);
        };
        let token =
            read_secret_file(path, "token").map_err(|e| anyhow::anyhow!("--token-file: {e}"))?;
        let mut value = MetadataValue::try_from(format!("Bearer {token}")).map_err(|_| {
            anyhow::anyhow!(
                "--token-file {}: the token is not printable ASCII",
                path.display()
            )
        })?;
        value.set_sensitive(true);
        self.authorization = Some(value);
        Ok(self)
    }

    /// How a failed connect is reported: over TLS, naming the CA file the server was checked
    /// against, since an untrusted certificate is the usual reason.
    pub(crate) fn connect_error(&self, cause: &str) -> String {
        match &self.ca_file {
            None => format!("cannot connect: {cause}"),
            Some(ca) => format!(
                "cannot connect over TLS, trusting the CA in {} (--tls-ca-file): {cause}",
                ca.display()
            ),
        }
    }
}

fn client_tls(ca_file: &Path, tls: &ClientTlsArgs) -> anyhow::Result<ClientTlsConfig> {
    let read = |path: &Path, flag: &str| {
        std::fs::read(path).with_context(|| format!("cannot read {flag} {}", path.display()))
    };
    let config = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read(ca_file, "--tls-ca-file")?));
    match (&tls.tls_cert_file, &tls.tls_key_file) {
        (None, None) => Ok(config),
        (Some(cert), Some(key)) => Ok(config.identity(Identity::from_pem(
            read(cert, "--tls-cert-file")?,
            read(key, "--tls-key-file")?,
        ))),
        _ => anyhow::bail!(
            "--tls-cert-file and --tls-key-file (the client certificate for mTLS) go together: \
             give both or neither"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str, ca: Option<&str>, cert: Option<&str>, key: Option<&str>) -> String {
        let tls = ClientTlsArgs {
            tls_ca_file: ca.map(Into::into),
            tls_cert_file: cert.map(Into::into),
            tls_key_file: key.map(Into::into),
        };
        match Target::new(url, &tls) {
            Ok(_) => "ok".into(),
            Err(error) => format!("{error:#}"),
        }
    }

    #[test]
    fn https_needs_a_ca_file_and_tls_files_need_https() {
        assert_eq!(target("http://127.0.0.1:1", None, None, None), "ok");
        let error = target("https://127.0.0.1:1", None, None, None);
        assert!(error.contains("--tls-ca-file"), "{error}");
        let error = target("http://127.0.0.1:1", Some("/ca.pem"), None, None);
        assert!(error.contains("https://"), "{error}");
        let error = target("ftp://127.0.0.1:1", None, None, None);
        assert!(error.contains("http:// or https://"), "{error}");
    }

    #[test]
    fn files_that_cannot_be_read_are_named_and_a_lone_certificate_is_refused() {
        let missing = "/nonexistent/sensorpipe/ca.pem";
        let error = target("https://127.0.0.1:1", Some(missing), None, None);
        assert!(error.contains(missing), "{error}");
        let ca = std::env::temp_dir().join(format!("generator-target-{}.pem", std::process::id()));
        std::fs::write(&ca, "not checked until a connect").unwrap();
        let error = target("https://127.0.0.1:1", ca.to_str(), Some("/c.pem"), None);
        std::fs::remove_file(&ca).unwrap();
        assert!(
            error.contains("--tls-cert-file and --tls-key-file"),
            "{error}"
        );
    }
}
