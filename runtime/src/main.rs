fn main() -> std::process::ExitCode {
    ilm::cli::main()
}
