//! Password hashing, secret tokens and the bundled common-password list.

pub mod common_passwords;
pub mod hasher;
pub mod jwt;
pub mod password;
pub mod token;
