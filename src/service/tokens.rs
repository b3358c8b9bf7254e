//! Access tokens.

use super::Ctx;
use crate::domain::User;
use crate::error::AppError;

pub async fn authenticate(_ctx: &Ctx, _token: &str) -> Result<User, AppError> {
    Err(AppError::InvalidToken)
}
