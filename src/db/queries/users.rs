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
