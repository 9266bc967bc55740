use std::io::Write as _;

fn main() {
    let code = galaxy_server::cli::run();
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // Leave without the C library's exit handlers: a pooled database connection still being
    // opened on another thread must not race libpq/OpenSSL's teardown. Everything the server
    // keeps is already in the database and on disk.
    // SAFETY: `_exit` ends the process at once; nothing runs after it.
    unsafe { libc::_exit(code) }
}
