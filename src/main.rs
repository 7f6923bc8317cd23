fn main() -> std::process::ExitCode {
    speakup::memory::limit_allocator_arenas();
    speakup::cli::main()
}
