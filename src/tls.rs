//! Server TLS for every port, from [`TlsArgs`]: the certificate files read once at start-up, and
//! the accept loop that turns TCP connections into TLS ones for the serve loop in [`crate::grpc`].
//!
//! Our own acceptor rather than tonic's: gRPC, gRPC-Web and HTTP JSON share one port, and tonic's
//! offers only `h2` in ALPN, which HTTP/1.1-only clients (browsers' fetch through some proxies,
//! `curl --http1.1`) cannot use. Here ALPN offers both and hyper tells them apart as it does on
//! plaintext. Handshakes run in tasks of their own with a deadline, so a client that stalls in its
//! handshake never holds up the next accept.

use std::{
    io,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use tokio::{net::TcpListener, sync::mpsc};
use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        self, RootCertStore, ServerConfig,
        crypto::ring,
        pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
        server::WebPkiClientVerifier,
    },
    server::TlsStream,
};
use tokio_stream::{Stream, StreamExt, wrappers::ReceiverStream};

use crate::config::TlsArgs;

/// Longest a client may take for its handshake before its connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshaken connections waiting for the serve loop; past it, handshake tasks wait their turn.
const ACCEPTED_QUEUE: usize = 64;

/// Why TLS could not be set up. Messages name the flags or the file, never file contents.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Incomplete(&'static str),
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path.display())]
    NoCertificate { path: PathBuf },
    #[error(
        "{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1: -----BEGIN ... PRIVATE KEY-----)",
        path.display()
    )]
    NoKey { path: PathBuf },
    #[error("the certificate in {} and the key in {} do not make a usable pair: {source}",
            cert.display(), key.display())]
    Pair {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
    #[error("cannot verify client certificates with the CA in {}: {reason}", path.display())]
    ClientCa { path: PathBuf, reason: String },
}

/// What a port serves: plaintext, or TLS with (mTLS) or without client certificates.
#[derive(Clone)]
pub enum Transport {
    Plain,
    Tls(TlsAcceptor),
}

impl Transport {
    /// Reads the files `args` name, refusing half a configuration, and logs which transport the
    /// port will use.
    pub fn from_args(args: &TlsArgs) -> Result<Self, Error> {
        let (cert, key) = match (&args.tls_cert_file, &args.tls_key_file) {
            (None, None) if args.tls_client_ca_file.is_some() => {
                return Err(Error::Incomplete(
                    "--tls-client-ca-file (TLS_CLIENT_CA_FILE) needs --tls-cert-file \
                     (TLS_CERT_FILE) and --tls-key-file (TLS_KEY_FILE): client certificates \
                     are checked only over TLS",
                ));
            }
            (None, None) => {
                tracing::info!(
                    "TLS off: plaintext (set --tls-cert-file and --tls-key-file to turn it on)"
                );
                return Ok(Self::Plain);
            }
            (Some(_), None) => {
                return Err(Error::Incomplete(
                    "--tls-cert-file (TLS_CERT_FILE) is set without --tls-key-file (TLS_KEY_FILE): \
                     give both, or neither for plaintext",
                ));
            }
            (None, Some(_)) => {
                return Err(Error::Incomplete(
                    "--tls-key-file (TLS_KEY_FILE) is set without --tls-cert-file (TLS_CERT_FILE): \
                     give both, or neither for plaintext",
                ));
            }
            (Some(cert), Some(key)) => (cert, key),
        };
        let config = server_config(cert, key, args.tls_client_ca_file.as_deref())?;
        match &args.tls_client_ca_file {
            Some(ca) => tracing::info!(
                cert = %cert.display(),
                client_ca = %ca.display(),
                "TLS on with mTLS: clients must present a certificate signed by the client CA"
            ),
            None => {
                tracing::info!(cert = %cert.display(), "TLS on (no client certificates asked for)")
            }
        }
        Ok(Self::Tls(TlsAcceptor::from(Arc::new(config))))
    }
}

fn server_config(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<ServerConfig, Error> {
    let chain = certificates(cert, "certificate file")?;
    let key_bytes = read(key, "key file")?;
    let private_key =
        PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|_| Error::NoKey { path: key.into() })?;
    let provider = Arc::new(ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions");
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let client_ca_error = |reason: String| Error::ClientCa {
                path: path.into(),
                reason,
            };
            let mut roots = RootCertStore::empty();
            for ca in certificates(path, "client CA file")? {
                roots.add(ca).map_err(|e| client_ca_error(e.to_string()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                .build()
                .map_err(|e| client_ca_error(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, private_key)
        .map_err(|source| Error::Pair {
            cert: cert.into(),
            key: key.into(),
            source,
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Read {
        what,
        path: path.into(),
        source,
    })
}

fn certificates(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let no_certificate = || Error::NoCertificate { path: path.into() };
    let certs = CertificateDer::pem_slice_iter(&read(path, what)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| no_certificate())?;
    if certs.is_empty() {
        return Err(no_certificate());
    }
    Ok(certs)
}

/// The connections of `listener`, handshaken with `acceptor`: what the serve loop reads instead of
/// TCP connections. Accepting stops when the stream is dropped (the serve loop stops accepting at
/// shutdown), which closes the listener at once as it does on plaintext.
pub fn incoming(
    listener: TcpListener,
    acceptor: TlsAcceptor,
) -> impl Stream<Item = Result<TlsStream<tokio::net::TcpStream>, io::Error>> {
    let (accepted, rx) = mpsc::channel(ACCEPTED_QUEUE);
    tokio::spawn(async move {
        let mut tcp =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        loop {
            let connection = tokio::select! {
                () = accepted.closed() => return,
                next = tcp.next() => next,
            };
            match connection {
                Some(Ok(stream)) => {
                    tokio::spawn(handshake(acceptor.clone(), stream, accepted.clone()));
                }
                Some(Err(error)) => tracing::warn!(%error, "cannot accept a connection"),
                None => return,
            }
        }
    });
    ReceiverStream::new(rx).map(Ok)
}

async fn handshake(
    acceptor: TlsAcceptor,
    stream: tokio::net::TcpStream,
    accepted: mpsc::Sender<TlsStream<tokio::net::TcpStream>>,
) {
    let peer = stream.peer_addr().ok();
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => {
            let _ = accepted.send(tls).await;
        }
        // A port probe (a TCP connect and close) is no client's failure worth a warning.
        Ok(Err(error)) if error.kind() == io::ErrorKind::UnexpectedEof => {
            tracing::debug!(?peer, %error, "TLS handshake ended early");
        }
        Ok(Err(error)) => tracing::warn!(?peer, %error, "TLS handshake failed"),
        Err(_) => tracing::warn!(?peer, timeout = ?HANDSHAKE_TIMEOUT, "TLS handshake timed out"),
    }
}
