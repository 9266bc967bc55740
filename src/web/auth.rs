//! The caller: an API key from the `x-api-key` header or `?key=`.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::{ApiError, AppState};
use crate::db::models::User;
use crate::db::queries::users;

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Caller {
    Anonymous,
    /// The `bootstrap_admin_api_key`: an admin with no user row.
    Bootstrap,
    User {
        user: User,
        is_admin: bool,
    },
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Caller::Bootstrap | Caller::User { is_admin: true, .. }
        )
    }

    pub fn user_id(&self) -> Option<i64> {
        match self {
            Caller::User { user, .. } => Some(user.id),
            _ => None,
        }
    }

    /// A route that needs someone logged in.
    pub fn require(&self) -> Result<(), ApiError> {
        match self {
            Caller::Anonymous => Err(ApiError::AuthRequired),
            _ => Ok(()),
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        self.require()?;
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "You must be an administrator to use this route.".into(),
            ))
        }
    }

    /// Whether the caller may see an item owned by `owner`.
    pub fn can_access(&self, owner: Option<i64>) -> bool {
        self.is_admin() || (owner.is_some() && owner == self.user_id())
    }

    /// The user id to filter lists by: `None` (everything) for admins.
    pub fn list_filter(&self) -> Option<i64> {
        if self.is_admin() {
            None
        } else {
            Some(self.user_id().unwrap_or(-1))
        }
    }
}

fn api_key(req: &HttpRequest) -> Option<String> {
    if let Some(v) = req.headers().get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(v.to_string());
    }
    web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.get("key").cloned())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = api_key(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let Some(key) = key.filter(|k| !k.is_empty()) else {
                return Ok(Caller::Anonymous);
            };
            let state =
                state.ok_or_else(|| ApiError::Internal("application state missing".into()))?;
            if state.env.settings.galaxy.bootstrap_admin_api_key.as_deref() == Some(key.as_str()) {
                return Ok(Caller::Bootstrap);
            }
            let admins = state.admin_users.clone();
            let user = state
                .db(move |c| Ok(users::user_by_api_key(c, &key)?))
                .await?;
            match user {
                Some(user) => {
                    let is_admin = admins.iter().any(|a| a == &user.email);
                    Ok(Caller::User { user, is_admin })
                }
                None => Err(ApiError::InvalidKey),
            }
        })
    }
}
