fn main() -> std::process::ExitCode {
    speakup::cli::main()
}
