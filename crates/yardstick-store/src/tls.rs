//! TLS to a PostgreSQL server, with libpq's `sslmode` meanings.
//!
//! - `disable`: no TLS.
//! - `prefer` (the default) and `require`: TLS if the server offers it (`require`: or
//!   fail). Without a root certificate the connection is encrypted but the server is
//!   not verified, as libpq does; with one, its chain is verified (as `verify-ca`).
//! - `verify-ca`: the chain must lead to the root certificate; `verify-full`: and the
//!   certificate must name the host.
//!
//! The root certificate is `sslrootcert` in the URL, else `PGSSLROOTCERT`, else
//! `~/.postgresql/root.crt` when it exists; `sslrootcert=system` means the well-known
//! public roots. The driver knows only `disable`/`prefer`/`require` and no
//! `sslrootcert`, so these are taken off the URL before it sees them.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// Where trusted root certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RootCertificates {
    /// A PEM file.
    File(PathBuf),
    /// The well-known public roots (`sslrootcert=system`).
    System,
}

/// How to secure one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    pub(crate) mode: SslMode,
    pub(crate) roots: Option<RootCertificates>,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// `sslmode` has a value libpq does not know.
    #[error("sslmode={0} is not one of disable, allow, prefer, require, verify-ca, verify-full")]
    UnknownMode(String),
    /// Verification was asked for without a root certificate to verify against.
    #[error("sslmode={0} needs a root certificate: give sslrootcert=FILE in the URL or PGSSLROOTCERT, put it at ~/.postgresql/root.crt, or use sslrootcert=system for the public roots")]
    NoRootCertificate(&'static str),
    /// The root certificate file could not be read.
    #[error("cannot read the root certificate {path}: {message}")]
    RootCertificate {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// rustls refused the configuration.
    #[error("TLS setup: {0}")]
    Rustls(String),
}

impl TlsSettings {
    /// Takes `sslmode` and `sslrootcert` off the URL's query and resolves them with the
    /// environment (`env` reads a variable) and the home folder: the URL for the driver,
    /// and the settings.
    pub(crate) fn split_from_url(
        url: &str,
        env: impl Fn(&str) -> Option<String>,
        home: Option<PathBuf>,
    ) -> Result<(String, TlsSettings), TlsError> {
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, query),
            None => (url, ""),
        };
        let mut mode_text = None;
        let mut root_text = None;
        let mut kept = Vec::new();
        for param in query.split('&').filter(|p| !p.is_empty()) {
            match param.split_once('=') {
                Some(("sslmode", value)) => mode_text = Some(value.to_owned()),
                Some(("sslrootcert", value)) => root_text = Some(value.to_owned()),
                _ => kept.push(param),
            }
        }
        let mode_text = mode_text
            .or_else(|| env("PGSSLMODE"))
            .unwrap_or_else(|| "prefer".to_owned());
        let mode = match mode_text.as_str() {
            "disable" => SslMode::Disable,
            // libpq's `allow` tries without TLS first; TLS when offered is no worse.
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => return Err(TlsError::UnknownMode(other.to_owned())),
        };
        let roots = match root_text.or_else(|| env("PGSSLROOTCERT")) {
            Some(text) if text == "system" => Some(RootCertificates::System),
            Some(text) => Some(RootCertificates::File(PathBuf::from(text))),
            None => home
                .map(|home| home.join(".postgresql/root.crt"))
                .filter(|path| path.is_file())
                .map(RootCertificates::File),
        };
        let driver_url = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok((driver_url, TlsSettings { mode, roots }))
    }

    /// The driver's own mode: it verifies nothing itself, only whether TLS is used.
    pub(crate) fn driver_mode(&self) -> postgres::config::SslMode {
        match self.mode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                postgres::config::SslMode::Require
            }
        }
    }

    /// The TLS connector that verifies as the mode says.
    pub(crate) fn connector(&self) -> Result<MakeRustlsConnect, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match (&self.roots, self.mode) {
            (None, SslMode::VerifyCa) => return Err(TlsError::NoRootCertificate("verify-ca")),
            (None, SslMode::VerifyFull) => return Err(TlsError::NoRootCertificate("verify-full")),
            (None, _) => Arc::new(EncryptOnly {
                provider: Arc::clone(&provider),
            }),
            (Some(roots), mode) => {
                let store = Arc::new(root_store(roots)?);
                let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                    store,
                    Arc::clone(&provider),
                )
                .build()
                .map_err(|e| TlsError::Rustls(e.to_string()))?;
                if mode == SslMode::VerifyFull {
                    webpki
                } else {
                    Arc::new(ChainOnly { inner: webpki })
                }
            }
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Rustls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }
}

fn root_store(roots: &RootCertificates) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    match roots {
        RootCertificates::System => {
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        RootCertificates::File(path) => {
            let error = |message: String| TlsError::RootCertificate {
                path: path.clone(),
                message,
            };
            let certificates = CertificateDer::pem_file_iter(path)
                .map_err(|e| error(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| error(e.to_string()))?;
            let (added, _ignored) = store.add_parsable_certificates(certificates);
            if added == 0 {
                return Err(error("no certificate in it".to_owned()));
            }
        }
    }
    Ok(store)
}

/// libpq's `require` without a root certificate: the channel is encrypted and the
/// handshake signed by the certificate's key, but who holds the certificate is not
/// checked.
#[derive(Debug)]
struct EncryptOnly {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the name is not checked.
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(url: &str, env: &[(&str, &str)], home: Option<PathBuf>) -> (String, TlsSettings) {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TlsSettings::split_from_url(
            url,
            |name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            home,
        )
        .unwrap()
    }

    #[test]
    fn tls_parameters_come_off_the_url() {
        let (url, tls) = split(
            "postgres://u@h/db?application_name=x&sslmode=verify-full&sslrootcert=/ca.pem",
            &[],
            None,
        );
        assert_eq!(url, "postgres://u@h/db?application_name=x");
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.roots, Some(RootCertificates::File("/ca.pem".into())));
        assert_eq!(tls.driver_mode(), postgres::config::SslMode::Require);
    }

    #[test]
    fn the_environment_and_home_fill_in_as_libpq_does() {
        let (url, tls) = split("postgres://u@h/db", &[], None);
        assert_eq!(
            (url.as_str(), tls.mode, tls.roots),
            ("postgres://u@h/db", SslMode::Prefer, None)
        );
        let (_, tls) = split(
            "postgres://u@h/db",
            &[("PGSSLMODE", "require"), ("PGSSLROOTCERT", "system")],
            None,
        );
        assert_eq!(
            (tls.mode, tls.roots),
            (SslMode::Require, Some(RootCertificates::System))
        );
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".postgresql")).unwrap();
        std::fs::write(home.path().join(".postgresql/root.crt"), "x").unwrap();
        let (_, tls) = split(
            "postgres://u@h/db?sslmode=verify-ca",
            &[],
            Some(home.path().into()),
        );
        assert_eq!(
            tls.roots,
            Some(RootCertificates::File(
                home.path().join(".postgresql/root.crt")
            ))
        );
    }

    #[test]
    fn verification_without_a_root_certificate_is_refused() {
        let (_, tls) = split("postgres://u@h/db?sslmode=verify-full", &[], None);
        let error = tls.connector().err().unwrap();
        assert!(
            error.to_string().contains("needs a root certificate"),
            "{error}"
        );
        let unknown = TlsSettings::split_from_url("postgres://h/d?sslmode=always", |_| None, None);
        assert!(matches!(unknown, Err(TlsError::UnknownMode(m)) if m == "always"));
        let (_, tls) = split("postgres://u@h/db?sslmode=require", &[], None);
        assert!(
            tls.connector().is_ok(),
            "require alone encrypts without verifying"
        );
    }
}
