//! Sign-in with a login proof (issue 14), shared by the console (`console.js`, cookie session)
//! and the JSON API (bearer token): the salt-and-cost answer a client runs Argon2id with, the
//! proof it sends back, and the answer that carries its sealed secret key.

use serde::Serialize;

use crate::crypto::LoginProof;
use crate::service::ServiceError;
use crate::service::sessions::{SignInParameters, SignedIn};

#[derive(Serialize)]
pub struct CostAnswer {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

/// The salt (base64) and Argon2id cost for an e-mail address; the same shape, and the same
/// answer every time, for an address without an account.
#[derive(Serialize)]
pub struct ParametersAnswer {
    salt: String,
    cost: CostAnswer,
}

impl From<SignInParameters> for ParametersAnswer {
    fn from(parameters: SignInParameters) -> ParametersAnswer {
        ParametersAnswer {
            salt: data_encoding::BASE64.encode(&parameters.salt),
            cost: CostAnswer {
                memory_kib: parameters.cost.memory_kib,
                iterations: parameters.cost.iterations,
                parallelism: parameters.cost.parallelism,
            },
        }
    }
}

/// Reads a login proof as clients send it: 32 bytes in base64.
pub fn read_proof(text: &str) -> Result<LoginProof, ServiceError> {
    data_encoding::BASE64
        .decode(text.trim().as_bytes())
        .ok()
        .and_then(|bytes| LoginProof::from_bytes(&bytes).ok())
        .ok_or_else(|| {
            ServiceError::invalid("invalid_proof", "the login proof is not 32 bytes of base64")
        })
}

/// What a client that signed in with a proof gets back: who it is, and its X25519 secret key
/// sealed under the key-encryption key that only the client derived.
#[derive(Serialize)]
pub struct ProofAnswer<'a> {
    /// The session token, for the API (the console sets it as a cookie instead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<&'a str>,
    pub user_id: &'a str,
    /// base64
    pub sealed_secret: String,
}

impl<'a> ProofAnswer<'a> {
    pub fn new(signed_in: &'a SignedIn, token: Option<&'a str>) -> Result<Self, ServiceError> {
        let sealed = signed_in
            .sealed_secret
            .as_deref()
            .ok_or_else(|| ServiceError::Internal("proof sign-in without sealed secret".into()))?;
        Ok(ProofAnswer {
            token,
            user_id: signed_in.user.id.as_str(),
            sealed_secret: data_encoding::BASE64.encode(sealed),
        })
    }
}
