//! The rustls client configuration from what a kubeconfig gives: a CA bundle, an optional
//! client certificate and key (PEM), and whether to verify the server at all.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// TLS material, as PEM bytes.
#[derive(Clone, Default)]
pub struct TlsMaterial {
    /// CA certificates that sign the server's (required when verifying).
    pub ca_pem: Option<Vec<u8>>,
    /// The client certificate chain, for certificate authentication.
    pub cert_pem: Option<Vec<u8>>,
    /// The client key, with `cert_pem`.
    pub key_pem: Option<Vec<u8>>,
    /// Verify the server's certificate (kubeconfig `insecure-skip-tls-verify` turns it off).
    pub verify: bool,
}

// Keys never reach a log or a repr.
impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca", &self.ca_pem.is_some())
            .field("client_cert", &self.cert_pem.is_some())
            .field("verify", &self.verify)
            .finish_non_exhaustive()
    }
}

/// A client configuration; errors name the bad setting.
pub fn client_config(material: &TlsMaterial) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = if material.verify {
        let pem = material
            .ca_pem
            .as_deref()
            .ok_or("ssl_ca_cert: no CA certificates to verify the server with")?;
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("ssl_ca_cert: not a PEM certificate ({e})"))?;
            roots
                .add(cert)
                .map_err(|e| format!("ssl_ca_cert: unusable CA certificate ({e})"))?;
        }
        if roots.is_empty() {
            return Err("ssl_ca_cert: no certificate in the CA file".to_owned());
        }
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    };
    let config = match (&material.cert_pem, &material.key_pem) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("cert_file: not a PEM certificate ({e})"))?;
            if chain.is_empty() {
                return Err("cert_file: no certificate in it".to_owned());
            }
            let key = PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| format!("key_file: not a PEM private key ({e})"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("cert_file/key_file: unusable ({e})"))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err("cert_file and key_file must be given together".to_owned()),
    };
    Ok(Arc::new(config))
}

/// The server name to verify and send (SNI): `tls_server_name` when set, else the host.
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_owned())
        .map_err(|_| format!("not a valid TLS server name: {host:?}"))
}

/// `insecure-skip-tls-verify`: any certificate is accepted, but the handshake's signatures
/// are still checked, so the session is at least bound to the certificate shown.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

type Dss = DigitallySignedStruct;
type Verdict = Result<HandshakeSignatureValid, rustls::Error>;

impl NoVerify {
    fn algorithms(&self) -> &WebPkiSupportedAlgorithms {
        &self.0.signature_verification_algorithms
    }
}

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &Dss) -> Verdict {
        verify_tls12_signature(m, c, d, self.algorithms())
    }

    fn verify_tls13_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &Dss) -> Verdict {
        verify_tls13_signature(m, c, d, self.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::float_cmp)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_setting() {
        let verify_without_ca = TlsMaterial {
            verify: true,
            ..TlsMaterial::default()
        };
        assert!(client_config(&verify_without_ca)
            .unwrap_err()
            .starts_with("ssl_ca_cert"));
        let junk_ca = TlsMaterial {
            verify: true,
            ca_pem: Some(b"not pem".to_vec()),
            ..TlsMaterial::default()
        };
        assert!(client_config(&junk_ca)
            .unwrap_err()
            .starts_with("ssl_ca_cert"));
        let half = TlsMaterial {
            cert_pem: Some(Vec::new()),
            ..TlsMaterial::default()
        };
        assert!(client_config(&half).unwrap_err().contains("together"));
        assert!(client_config(&TlsMaterial::default()).is_ok());
        assert!(format!(
            "{:?}",
            TlsMaterial {
                key_pem: Some(b"SECRET".to_vec()),
                ..TlsMaterial::default()
            }
        )
        .find("SECRET")
        .is_none());
    }

    #[test]
    fn server_names() {
        assert!(server_name("127.0.0.1").is_ok());
        assert!(server_name("kubernetes.default.svc").is_ok());
        assert!(server_name("bad name").is_err());
    }
}
