fn main() {
    std::process::exit(galaxy_server::cli::run());
}
