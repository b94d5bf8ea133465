//! A throwaway CA with a server and a client certificate, as PEM files in a scratch directory, so
//! tests run TLS and mTLS without openssl; and the clients that trust it (tonic, reqwest).
//!
//! The server certificate is for `127.0.0.1` and `localhost`: [`TestCa::url`] uses the IP, so no
//! resolver decides between IPv4 and IPv6.

use std::{
    fs,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::TempDir;

/// A certificate and its key, as files.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A CA of one test, with one server and one client certificate it signed. Dropping it removes
/// the files.
pub struct TestCa {
    /// The CA certificate: what clients trust, and what a server with mTLS checks clients against.
    pub ca_file: PathBuf,
    pub server: CertFiles,
    pub client: CertFiles,
    _dir: TempDir,
}

impl TestCa {
    /// A fresh CA named `name` (its common name, so a handshake error between two test CAs says
    /// which is which) with its certificates.
    pub fn new(name: &str) -> Self {
        let dir = TempDir::new(&format!("tls-{name}"));
        let ca_key = KeyPair::generate().expect("generate the CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("sensorpipe test CA {name}"));
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).expect("self-sign the CA");
        let ca_file = write(dir.path(), "ca.pem", &ca_cert.pem());
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf = |file: &str, names: Vec<String>, usage: ExtendedKeyUsagePurpose| {
            let key = KeyPair::generate().expect("generate a key");
            let mut params = CertificateParams::new(names).expect("certificate params");
            params
                .distinguished_name
                .push(DnType::CommonName, format!("{name} {file}"));
            params.extended_key_usages = vec![usage];
            let cert = params.signed_by(&key, &issuer).expect("sign a certificate");
            CertFiles {
                cert: write(dir.path(), &format!("{file}.pem"), &cert.pem()),
                key: write(dir.path(), &format!("{file}-key.pem"), &key.serialize_pem()),
            }
        };
        let server = leaf(
            "server",
            vec!["127.0.0.1".into(), "localhost".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let client = leaf(
            "client",
            vec!["device-1".into()],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        Self {
            ca_file,
            server,
            client,
            _dir: dir,
        }
    }

    /// The flags that turn TLS on in ingest or admin, with this CA's server certificate.
    pub fn server_args(&self) -> Vec<String> {
        vec![
            "--tls-cert-file".into(),
            path_arg(&self.server.cert),
            "--tls-key-file".into(),
            path_arg(&self.server.key),
        ]
    }

    /// [`server_args`](Self::server_args) plus mTLS: clients need a certificate this CA signed.
    pub fn mtls_server_args(&self) -> Vec<String> {
        let mut args = self.server_args();
        args.extend(["--tls-client-ca-file".into(), path_arg(&self.ca_file)]);
        args
    }

    /// `https://127.0.0.1:<port><path>` for a service listening on `addr`.
    pub fn url(addr: SocketAddr, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", addr.port())
    }

    /// TLS settings of a tonic client trusting this CA, presenting `identity` if given.
    pub fn client_tls(&self, identity: Option<&CertFiles>) -> ClientTlsConfig {
        let config =
            ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(&self.ca_file)));
        match identity {
            Some(files) => config.identity(Identity::from_pem(read(&files.cert), read(&files.key))),
            None => config,
        }
    }

    /// A gRPC channel to `addr` over TLS trusting this CA (with `identity` for mTLS). The
    /// handshake's error, if any, is returned rather than panicked on, for tests of refusals.
    pub async fn channel(
        &self,
        addr: SocketAddr,
        identity: Option<&CertFiles>,
    ) -> Result<Channel, tonic::transport::Error> {
        Channel::from_shared(Self::url(addr, ""))
            .expect("a valid URL")
            .tls_config(self.client_tls(identity))?
            .connect()
            .await
    }

    /// A reqwest client trusting only this CA, presenting `identity` if given; `http` picks the
    /// protocol it offers in ALPN (HTTP/1.1 only, or HTTP/2 only).
    pub fn http_client(&self, identity: Option<&CertFiles>, http: HttpVersion) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(&read(&self.ca_file)).expect("the CA is PEM");
        let builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca);
        let builder = match identity {
            Some(files) => {
                let mut pem = read(&files.cert);
                pem.extend(read(&files.key));
                builder.identity(reqwest::Identity::from_pem(&pem).expect("cert and key are PEM"))
            }
            None => builder,
        };
        let builder = match http {
            HttpVersion::Http1 => builder.http1_only(),
            HttpVersion::Http2 => builder.http2_prior_knowledge(),
        };
        builder.build().expect("a TLS reqwest client")
    }
}

/// Which HTTP a test client speaks over TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersion {
    Http1,
    Http2,
}

fn write(dir: &Path, name: &str, pem: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, pem).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn path_arg(path: &Path) -> String {
    path.to_str().expect("temp paths are UTF-8").to_owned()
}
