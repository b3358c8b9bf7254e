//! Avatars (API.md "Account"): PNG, JPEG or GIF up to 5 MiB, accepted only when the
//! bytes really are the declared type, served back byte for byte.

use super::Ctx;
use crate::domain::UserId;
use crate::error::AppError;

pub const MAX_BYTES: usize = 5 * 1024 * 1024;

/// The declared type, if it is allowed and the bytes start as that type does.
pub(crate) fn checked_type(content_type: Option<&str>, bytes: &[u8]) -> Result<&'static str, AppError> {
    let declared = content_type.map(|ct| ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    let (name, magic): (&'static str, &[&[u8]]) = match declared.as_deref() {
        Some("image/png") => ("image/png", &[b"\x89PNG\r\n\x1a\n"]),
        Some("image/jpeg") => ("image/jpeg", &[b"\xff\xd8\xff"]),
        Some("image/gif") => ("image/gif", &[b"GIF87a", b"GIF89a"]),
        _ => return Err(AppError::UnsupportedMediaType("Avatars must be image/png, image/jpeg or image/gif")),
    };
    if !magic.iter().any(|m| bytes.starts_with(m)) {
        return Err(AppError::UnsupportedMediaType("The file's contents are not the image type it claims to be"));
    }
    Ok(name)
}

pub async fn put(ctx: &Ctx, user_id: UserId, content_type: Option<&str>, bytes: &[u8]) -> Result<(), AppError> {
    if bytes.len() > MAX_BYTES {
        return Err(AppError::PayloadTooLarge { limit: "5 MiB" });
    }
    let content_type = checked_type(content_type, bytes)?;
    let mut change = ctx.begin().await?;
    let now = change.now;
    change.put_avatar(user_id, content_type, bytes, now).await?;
    change.commit().await
}

pub async fn get(ctx: &Ctx, user_id: UserId) -> Result<(String, Vec<u8>), AppError> {
    ctx.store.avatar(user_id).await?.ok_or(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_checked_by_their_magic_bytes() {
        assert_eq!(checked_type(Some("image/png"), b"\x89PNG\r\n\x1a\nrest").unwrap(), "image/png");
        assert_eq!(checked_type(Some("IMAGE/JPEG; x=y"), b"\xff\xd8\xff\xe0").unwrap(), "image/jpeg");
        assert_eq!(checked_type(Some("image/gif"), b"GIF89a...").unwrap(), "image/gif");
        assert!(checked_type(Some("image/png"), b"GIF89a...").is_err(), "declared png, is gif");
        assert!(checked_type(Some("image/svg+xml"), b"<svg/>").is_err());
        assert!(checked_type(None, b"\x89PNG\r\n\x1a\n").is_err());
        assert!(checked_type(Some("image/png"), b"").is_err());
    }
}
