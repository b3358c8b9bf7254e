//! Password hashing (with Werkzeug's formats for imported accounts), secret tokens, sealing of
//! secrets at rest and the bundled common-password list.

pub mod common_passwords;
pub mod hasher;
pub mod jwt;
pub mod otp;
pub mod password;
pub mod provider_keys;
pub mod sealing;
pub mod token;
pub mod werkzeug;
