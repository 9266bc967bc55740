use diesel::prelude::*;

use crate::db::models::{NewApiKey, NewUser, User};
use crate::db::schema::{api_keys, galaxy_user};
use crate::db::{DbConn, DbResult, now};
use crate::{db_run, db_tx};

pub fn create_user(
    conn: &mut DbConn,
    email: &str,
    username: &str,
    password: &str,
) -> DbResult<User> {
    let t = now();
    let row = NewUser {
        email,
        username,
        password,
        deleted: false,
        create_time: t,
        update_time: t,
    };
    db_tx!(conn, |c| {
        Ok(diesel::insert_into(galaxy_user::table)
            .values(&row)
            .returning(User::as_returning())
            .get_result(c)?)
    })
}

pub fn find_user(conn: &mut DbConn, id: i64) -> DbResult<Option<User>> {
    db_run!(conn, |c| {
        Ok(galaxy_user::table
            .find(id)
            .select(User::as_select())
            .first(c)
            .optional()?)
    })
}

/// Whether a user with this email or username exists.
pub fn user_exists(conn: &mut DbConn, email: &str, username: &str) -> DbResult<bool> {
    db_run!(conn, |c| {
        let n: i64 = galaxy_user::table
            .filter(
                galaxy_user::email
                    .eq(email)
                    .or(galaxy_user::username.eq(username)),
            )
            .count()
            .get_result(c)?;
        Ok(n > 0)
    })
}

pub fn list_users(conn: &mut DbConn) -> DbResult<Vec<User>> {
    db_run!(conn, |c| {
        Ok(galaxy_user::table
            .filter(galaxy_user::deleted.eq(false))
            .order(galaxy_user::id)
            .select(User::as_select())
            .load(c)?)
    })
}

/// The live user owning this live API key.
pub fn user_by_api_key(conn: &mut DbConn, key: &str) -> DbResult<Option<User>> {
    db_run!(conn, |c| {
        Ok(api_keys::table
            .inner_join(galaxy_user::table)
            .filter(api_keys::key.eq(key))
            .filter(api_keys::deleted.eq(false))
            .filter(galaxy_user::deleted.eq(false))
            .select(User::as_select())
            .first(c)
            .optional()?)
    })
}

/// Makes `key` the user's only live key (Galaxy keeps one live key per user).
pub fn replace_api_key(conn: &mut DbConn, user_id: i64, key: &str) -> DbResult<()> {
    let row = NewApiKey {
        user_id,
        key,
        deleted: false,
        create_time: now(),
    };
    db_tx!(conn, |c| {
        diesel::update(api_keys::table.filter(api_keys::user_id.eq(user_id)))
            .set(api_keys::deleted.eq(true))
            .execute(c)?;
        diesel::insert_into(api_keys::table)
            .values(&row)
            .execute(c)?;
        Ok(())
    })
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// The live user a login names, as Galaxy finds it: an identity with `@` is an email (exact,
/// else the one case-insensitive match), any other a username.
pub fn user_by_identity(conn: &mut DbConn, identity: &str) -> DbResult<Option<User>> {
    db_run!(conn, |c| {
        let live = galaxy_user::table
            .filter(galaxy_user::deleted.eq(false))
            .select(User::as_select());
        if !identity.contains('@') {
            return Ok(live
                .filter(galaxy_user::username.eq(identity))
                .first(c)
                .optional()?);
        }
        if let Some(user) = live
            .filter(galaxy_user::email.eq(identity))
            .first(c)
            .optional()?
        {
            return Ok(Some(user));
        }
        let mut folded: Vec<User> = live
            .filter(lower(galaxy_user::email).eq(identity.to_lowercase()))
            .order(galaxy_user::id)
            .limit(2)
            .load(c)?;
        Ok(if folded.len() == 1 {
            folded.pop()
        } else {
            None
        })
    })
}

/// Replaces a user's stored password hash, if it is still `old` (a concurrent change wins).
pub fn replace_password(conn: &mut DbConn, user_id: i64, old: &str, new: &str) -> DbResult<()> {
    let t = now();
    db_run!(conn, |c| {
        diesel::update(
            galaxy_user::table
                .filter(galaxy_user::id.eq(user_id))
                .filter(galaxy_user::password.eq(old)),
        )
        .set((
            galaxy_user::password.eq(new),
            galaxy_user::update_time.eq(t),
        ))
        .execute(c)?;
        Ok(())
    })
}

/// The user's live API key; `new_key` becomes it when the user has none.
pub fn live_api_key_or_insert(conn: &mut DbConn, user_id: i64, new_key: &str) -> DbResult<String> {
    let row = NewApiKey {
        user_id,
        key: new_key,
        deleted: false,
        create_time: now(),
    };
    db_tx!(conn, |c| {
        let live: Option<String> = api_keys::table
            .filter(api_keys::user_id.eq(user_id))
            .filter(api_keys::deleted.eq(false))
            .order(api_keys::id.desc())
            .select(api_keys::key)
            .first(c)
            .optional()?;
        if let Some(key) = live {
            return Ok(key);
        }
        diesel::insert_into(api_keys::table)
            .values(&row)
            .execute(c)?;
        Ok(new_key.to_string())
    })
}
