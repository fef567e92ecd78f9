//! DPoP (RFC 9449): proof-of-possession tokens, which Okta can require for API Services apps.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use stackhand_core::{Error, Result};
use url::Url;

/// `typ` header of a DPoP proof.
pub const DPOP_PROOF_TYPE: &str = "dpop+jwt";

/// A key pair that DPoP-binds access tokens: each token request and each API request carries a
/// fresh proof (a JWT signed with the private key, with the public key in its header).
///
/// Use it with [`ClientCredentials::dpop`](crate::ClientCredentials::dpop); the client then sends
/// `Authorization: DPoP <token>` and a `DPoP` proof header on every request, and answers the
/// token endpoint's `use_dpop_nonce` challenge. `Debug` never shows the key.
#[derive(Clone)]
pub struct DpopKey {
    key: EncodingKey,
    jwk: Jwk,
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DpopKey([redacted])")
    }
}

/// Claims of a DPoP proof (RFC 9449 section 4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DpopClaims {
    /// Unique id of this proof.
    pub jti: String,
    /// HTTP method of the request.
    pub htm: String,
    /// HTTP URL of the request, without query and fragment.
    pub htu: String,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// base64url SHA-256 of the access token, on API requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ath: Option<String>,
    /// The server-provided nonce, once the server asked for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

impl DpopKey {
    /// A DPoP key from an RSA private key in PEM (PKCS#1 or PKCS#8); proofs are RS256.
    pub fn from_rsa_pem(pem: &SecretString) -> Result<Self> {
        let key = EncodingKey::from_rsa_pem(pem.expose_secret().as_bytes()).map_err(|e| {
            Error::invalid(format!(
                "the DPoP key is not a valid RSA PEM private key: {e}"
            ))
        })?;
        let jwk = Jwk::from_encoding_key(&key, Algorithm::RS256)
            .map_err(|e| Error::invalid(format!("could not derive the DPoP public key: {e}")))?;
        Ok(Self { key, jwk })
    }

    /// The public key as a JWK (what the server binds tokens to).
    pub fn public_jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// A proof for one request: `access_token` sets `ath` (API requests), `nonce` echoes the
    /// server's `DPoP-Nonce`.
    pub fn proof(
        &self,
        method: &Method,
        url: &Url,
        access_token: Option<&SecretString>,
        nonce: Option<&str>,
        now: SystemTime,
    ) -> Result<SecretString> {
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let claims = DpopClaims {
            jti: uuid::Uuid::new_v4().to_string(),
            htm: method.as_str().to_owned(),
            htu: htu.as_str().to_owned(),
            iat: now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs(),
            ath: access_token.map(access_token_hash),
            nonce: nonce.map(str::to_owned),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some(DPOP_PROOF_TYPE.to_owned());
        header.jwk = Some(self.jwk.clone());
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(SecretString::from)
            .map_err(|e| Error::invalid(format!("could not sign the DPoP proof: {e}")))
    }
}

/// `ath`: base64url (no padding) of the SHA-256 of the access token.
pub fn access_token_hash(token: &SecretString) -> String {
    let digest = Sha256::digest(token.expose_secret().as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ath_matches_the_rfc_9449_example() {
        // RFC 9449 section 7.1.
        let token = SecretString::from("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU");
        assert_eq!(
            access_token_hash(&token),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }
}
