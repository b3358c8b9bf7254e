//! Password hashing (with Werkzeug's formats for imported accounts), secret tokens and the bundled common-password list.

pub mod common_passwords;
pub mod hasher;
pub mod jwt;
pub mod otp;
pub mod password;
pub mod token;
pub mod werkzeug;
