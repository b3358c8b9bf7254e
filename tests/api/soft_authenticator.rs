//! A software WebAuthn authenticator for the passkey tests: P-256 keys, "none"
//! attestation, user presence and verification always given, discoverable credentials.
//! It builds what a browser would send (client data, authenticator data, CBOR
//! attestation object, DER signatures) from the server's options, so the server's
//! verification runs exactly as it does for a real device.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const USER_PRESENT: u8 = 0x01;
const USER_VERIFIED: u8 = 0x04;
const ATTESTED_DATA: u8 = 0x40;

#[derive(Clone)]
pub struct SoftCredential {
    pub id: Vec<u8>,
    key: SigningKey,
    rp_id: String,
    user_handle: Vec<u8>,
    counter: u32,
}

pub struct SoftAuthenticator {
    /// The origin the "browser" runs on, as it puts it in the client data.
    origin: String,
    pub credentials: Vec<SoftCredential>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).expect("base64url")
}

impl SoftAuthenticator {
    /// An authenticator in a browser that opened `base` (`http://127.0.0.1:PORT`) under
    /// its `localhost` name, the relying party a loopback server derives.
    pub fn for_base(base: &str) -> SoftAuthenticator {
        SoftAuthenticator { origin: base.replace("127.0.0.1", "localhost"), credentials: Vec::new() }
    }

    pub fn with_origin(origin: &str) -> SoftAuthenticator {
        SoftAuthenticator { origin: origin.to_string(), credentials: Vec::new() }
    }

    /// `navigator.credentials.create({publicKey})` for the server's `options`: a new
    /// credential, kept, and the registration as the client sends it.
    pub fn register(&mut self, options: &Value) -> Value {
        let public_key = &options["publicKey"];
        let rp_id = public_key["rp"]["id"].as_str().expect("rp.id").to_string();
        let credential = SoftCredential {
            id: rand::random::<[u8; 16]>().to_vec(),
            key: SigningKey::from_slice(&rand::random::<[u8; 32]>()).expect("a P-256 scalar"),
            rp_id,
            user_handle: unb64(public_key["user"]["id"].as_str().expect("user.id")),
            counter: 0,
        };
        let registration = self.registration_of(&credential, public_key);
        self.credentials.push(credential);
        registration
    }

    /// The registration of an existing credential again, for another ceremony.
    pub fn registration_of(&self, credential: &SoftCredential, public_key: &Value) -> Value {
        let client_data = self.client_data("webauthn.create", public_key);
        let mut auth_data = rp_hash_and_flags(&credential.rp_id, USER_PRESENT | USER_VERIFIED | ATTESTED_DATA);
        auth_data.extend_from_slice(&credential.counter.to_be_bytes());
        auth_data.extend_from_slice(&[0; 16]); // AAGUID: none
        auth_data.extend_from_slice(&(credential.id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&credential.id);
        auth_data.extend_from_slice(&cose_key(&credential.key));
        let mut attestation = cbor_map_head(3);
        attestation.extend(cbor_text("fmt"));
        attestation.extend(cbor_text("none"));
        attestation.extend(cbor_text("attStmt"));
        attestation.extend(cbor_map_head(0));
        attestation.extend(cbor_text("authData"));
        attestation.extend(cbor_bytes(&auth_data));
        json!({
            "id": b64(&credential.id),
            "rawId": b64(&credential.id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(&client_data),
                "transports": ["internal"],
            },
            "extensions": {},
        })
    }

    /// `navigator.credentials.get({publicKey})`: signs with the first credential the
    /// options allow (any of this authenticator's for a discoverable request).
    pub fn assert(&mut self, options: &Value) -> Value {
        let public_key = &options["publicKey"];
        let allowed: Vec<Vec<u8>> = public_key["allowCredentials"]
            .as_array()
            .map(|list| list.iter().map(|c| unb64(c["id"].as_str().expect("id"))).collect())
            .unwrap_or_default();
        let index = self
            .credentials
            .iter()
            .rposition(|c| allowed.is_empty() || allowed.contains(&c.id))
            .expect("no credential of this authenticator is allowed");
        self.assert_with(index, public_key)
    }

    /// An assertion by credential `index` for `public_key` options, whatever they allow.
    pub fn assert_with(&mut self, index: usize, public_key: &Value) -> Value {
        let client_data = self.client_data("webauthn.get", public_key);
        let credential = &mut self.credentials[index];
        credential.counter += 1;
        let mut auth_data = rp_hash_and_flags(&credential.rp_id, USER_PRESENT | USER_VERIFIED);
        auth_data.extend_from_slice(&credential.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: Signature = credential.key.sign(&signed);
        json!({
            "id": b64(&credential.id),
            "rawId": b64(&credential.id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.to_der().as_bytes()),
                "userHandle": b64(&credential.user_handle),
            },
            "extensions": {},
        })
    }

    fn client_data(&self, kind: &str, public_key: &Value) -> Vec<u8> {
        let challenge = public_key["challenge"].as_str().expect("challenge");
        serde_json::to_vec(&json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false}))
            .unwrap()
    }
}

fn rp_hash_and_flags(rp_id: &str, flags: u8) -> Vec<u8> {
    let mut data = Sha256::digest(rp_id.as_bytes()).to_vec();
    data.push(flags);
    data
}

/// The public key as a COSE_Key: EC2, ES256, P-256, x and y.
fn cose_key(key: &SigningKey) -> Vec<u8> {
    let point = key.verifying_key().to_encoded_point(false);
    let mut cose = cbor_map_head(5);
    cose.extend(cbor_int(1));
    cose.extend(cbor_int(2));
    cose.extend(cbor_int(3));
    cose.extend(cbor_int(-7));
    cose.extend(cbor_int(-1));
    cose.extend(cbor_int(1));
    cose.extend(cbor_int(-2));
    cose.extend(cbor_bytes(point.x().expect("x")));
    cose.extend(cbor_int(-3));
    cose.extend(cbor_bytes(point.y().expect("y")));
    cose
}

fn cbor_head(major: u8, len: usize) -> Vec<u8> {
    match len {
        0..=23 => vec![major << 5 | len as u8],
        24..=255 => vec![major << 5 | 24, len as u8],
        _ => {
            let mut head = vec![major << 5 | 25];
            head.extend_from_slice(&(len as u16).to_be_bytes());
            head
        }
    }
}

fn cbor_int(n: i64) -> Vec<u8> {
    if n >= 0 {
        cbor_head(0, n as usize)
    } else {
        cbor_head(1, (-1 - n) as usize)
    }
}

fn cbor_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = cbor_head(2, bytes.len());
    out.extend_from_slice(bytes);
    out
}

fn cbor_text(text: &str) -> Vec<u8> {
    let mut out = cbor_head(3, text.len());
    out.extend_from_slice(text.as_bytes());
    out
}

fn cbor_map_head(entries: usize) -> Vec<u8> {
    cbor_head(5, entries)
}
