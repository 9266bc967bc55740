//! `GET /api/authenticate/baseauth`: an email or username and a password → the user's API key;
//! passwords stored as Galaxy stores them, older hashes replaced at the next login, and one
//! answer (401) for a wrong password, an unknown user and a deleted one.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_KEY, Backend, Opts, TestServer, assert_error, str_field, unique_suffix,
};

both_backends!(baseauth);

/// Made by Galaxy's own `hash_password_PBKDF2` (the same vector as the unit tests').
const GALAXY_HASH: &str = "PBKDF2$sha256$100000$oF6XJdeDGF/tKEb0$heki98io7HtEsh9dtsM3TBGCEj1CwOdL";
const GALAXY_PASSWORD: &str = "galaxy-test-passwörd";
/// This server's earlier form: `sha256$salt$hex(sha256(salt + password))`.
const EARLIER_HASH: &str =
    "sha256$0123456789abcdef$593ddcd21a389d484591dec2fe591a3c14825f3fe803ca0180e9f9a808248d28";
const EARLIER_PASSWORD: &str = "today-secret";
/// Galaxy's oldest form: unsalted SHA-1 in hex.
const SHA1_HASH: &str = "53e97c3d017d71dc553fc760cac8e6494249c186";
const SHA1_PASSWORD: &str = "oldest-galaxy";

/// `GET /api/authenticate/baseauth` with this `Authorization` header (or none).
fn get_key(server: &TestServer, authorization: Option<&str>) -> (u16, Value) {
    let mut req = server
        .api
        .client
        .get(format!("{}/api/authenticate/baseauth", server.url));
    if let Some(value) = authorization {
        req = req.header("authorization", value);
    }
    let resp = req.send().expect("GET /api/authenticate/baseauth");
    let status = resp.status().as_u16();
    let text = resp.text().expect("read the body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// `Basic base64(identity:password)`.
fn basic(identity: &str, password: &str) -> String {
    format!("Basic {}", BASE64.encode(format!("{identity}:{password}")))
}

/// The key a login gives, asserting a 200.
fn login(server: &TestServer, identity: &str, password: &str) -> String {
    let (status, body) = get_key(server, Some(&basic(identity, password)));
    assert_eq!(status, 200, "login of {identity}: {body}");
    str_field(&body, "api_key")
}

/// Asserts the one answer to wrong credentials.
fn assert_refused(server: &TestServer, what: &str, identity: &str, password: &str) {
    let (status, body) = get_key(server, Some(&basic(identity, password)));
    assert_error(what, status, &body, &[401]);
    assert_eq!(body["err_code"], 401001, "{what}: {body}");
    assert_eq!(
        body["err_msg"], "Authentication failed, invalid credentials supplied.",
        "{what}: the same message whatever was wrong"
    );
}

/// Runs SQL on the server's database (SQLite file or PostgreSQL database).
fn sql(server: &TestServer, statements: &str) {
    match &server.dir.pg {
        Some(db) => PgConnection::establish(&db.url())
            .expect("connect to the test database")
            .batch_execute(statements),
        None => SqliteConnection::establish(
            &server
                .dir
                .tmp
                .path()
                .join("universe.sqlite")
                .display()
                .to_string(),
        )
        .expect("open the test database")
        .batch_execute(&format!("PRAGMA busy_timeout = 10000; {statements}")),
    }
    .unwrap_or_else(|e| panic!("{statements}: {e}"));
}

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = diesel::sql_types::Text)]
    password: String,
}

/// The stored password hash of the user with this email.
fn stored_hash(server: &TestServer, email: &str) -> String {
    let query = diesel::sql_query(format!(
        "SELECT password FROM galaxy_user WHERE email = '{email}'"
    ));
    let rows: Vec<Stored> = match &server.dir.pg {
        Some(db) => query.load(&mut PgConnection::establish(&db.url()).expect("connect")),
        None => query.load(
            &mut SqliteConnection::establish(
                &server
                    .dir
                    .tmp
                    .path()
                    .join("universe.sqlite")
                    .display()
                    .to_string(),
            )
            .expect("open"),
        ),
    }
    .expect("read galaxy_user.password");
    rows.into_iter()
        .next()
        .unwrap_or_else(|| panic!("no user {email}"))
        .password
}

fn set_hash(server: &TestServer, email: &str, hash: &str) {
    sql(
        server,
        &format!("UPDATE galaxy_user SET password = '{hash}' WHERE email = '{email}'"),
    );
}

/// A user created by the admin with no API key.
fn create_user_without_key(server: &TestServer, name: &str, password: &str) -> (String, String) {
    let username = format!("{name}-{}", unique_suffix());
    let email = format!("{username}@example.org");
    let (status, user) = server.api.post(
        "/api/users",
        Some(ADMIN_KEY),
        &json!({"email": email, "username": username, "password": password}),
    );
    assert_eq!(status, 200, "POST /api/users: {user}");
    (email, username)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn baseauth(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let user = server.create_user("login");

    // New users are stored as Galaxy stores them.
    let stored = stored_hash(&server, &user.email);
    assert!(
        stored.starts_with("PBKDF2$sha256$100000$") && stored.split('$').count() == 5,
        "stored hash: {stored}"
    );

    // By email, with the Basic scheme: the user's current key.
    assert_eq!(login(&server, &user.email, "test-password-1"), user.key);
    // By username.
    assert_eq!(login(&server, &user.username, "test-password-1"), user.key);
    // BioBlend sends the bare base64, without "Basic".
    let bare = BASE64.encode(format!("{}:test-password-1", user.email));
    let (status, body) = get_key(&server, Some(&bare));
    assert_eq!(status, 200, "bare base64: {body}");
    assert_eq!(str_field(&body, "api_key"), user.key);
    // A case-folded email is the same user.
    assert_eq!(
        login(&server, &user.email.to_uppercase(), "test-password-1"),
        user.key
    );
    // The key works.
    let (status, me) = server.api.get("/api/users/current", Some(&user.key));
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], user.email.as_str());

    // Wrong credentials: one answer.
    assert_refused(&server, "wrong password", &user.email, "test-password-2");
    assert_refused(&server, "empty password", &user.email, "");
    assert_refused(
        &server,
        "wrong password by username",
        &user.username,
        "nope",
    );
    assert_refused(
        &server,
        "unknown user",
        "nobody@example.org",
        "test-password-1",
    );
    assert_refused(&server, "unknown username", "nobody", "test-password-1");

    // No or unreadable credentials: Galaxy's 400.
    for (what, header) in [
        ("no Authorization header", None),
        ("another scheme", Some("Bearer abc")),
        ("not base64", Some("Basic !!!")),
        ("no colon", Some("Basic bm9jb2xvbg==")),
        ("three words", Some("Basic a b")),
    ] {
        let (status, body) = get_key(&server, header);
        assert_error(what, status, &body, &[400]);
    }

    // A user with no API key gets one, and the same one next time.
    let (email, username) = create_user_without_key(&server, "nokey", "pass:with:colons");
    let key = login(&server, &email, "pass:with:colons");
    assert_eq!(key.len(), 32, "{key}");
    assert_eq!(login(&server, &username, "pass:with:colons"), key);
    let (status, me) = server.api.get("/api/users/current", Some(&key));
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], email.as_str());

    // A hash made by Galaxy's own code logs in, and is kept as it is.
    set_hash(&server, &email, GALAXY_HASH);
    assert_eq!(login(&server, &email, GALAXY_PASSWORD), key);
    assert_eq!(stored_hash(&server, &email), GALAXY_HASH);
    assert_refused(&server, "wrong password, Galaxy hash", &email, "galaxy");

    // This server's earlier hashes and Galaxy's oldest log in and are replaced by PBKDF2.
    for (hash, password) in [(EARLIER_HASH, EARLIER_PASSWORD), (SHA1_HASH, SHA1_PASSWORD)] {
        set_hash(&server, &email, hash);
        assert_refused(&server, "wrong password, older hash", &email, "x");
        assert_eq!(
            stored_hash(&server, &email),
            hash,
            "a failed login keeps it"
        );
        assert_eq!(login(&server, &email, password), key);
        let now = stored_hash(&server, &email);
        assert!(now.starts_with("PBKDF2$sha256$100000$"), "rehashed: {now}");
        assert_eq!(login(&server, &email, password), key, "after the rehash");
        assert_refused(&server, "wrong password after rehash", &email, "x");
    }

    // The same work whether or not the user exists (one PBKDF2 computation each): the
    // answers take about as long. Loose bounds: the machine may be busy.
    let time = |identity: &str| {
        let samples = (0..5)
            .map(|_| {
                let t = Instant::now();
                let (status, _) = get_key(&server, Some(&basic(identity, "wrong-password")));
                assert_eq!(status, 401);
                t.elapsed()
            })
            .collect();
        median(samples)
    };
    let known = time(&user.email);
    let unknown = time("nobody@example.org");
    assert!(
        unknown * 3 >= known && known * 3 >= unknown,
        "wrong password {known:?}, unknown user {unknown:?}"
    );

    // A deleted user cannot log in, with the same answer.
    sql(
        &server,
        &format!(
            "UPDATE galaxy_user SET deleted = TRUE WHERE email = '{}'",
            user.email
        ),
    );
    assert_refused(&server, "deleted user", &user.email, "test-password-1");
    assert_refused(
        &server,
        "deleted user by username",
        &user.username,
        "test-password-1",
    );
}
