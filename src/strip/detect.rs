//! Tells a file's type from its first bytes.

use serde::Serialize;

/// Bytes needed to tell every known type apart.
pub const SNIFF_LEN: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Jpeg,
    Png,
    Webp,
    Heic,
    Pdf,
}

impl FileKind {
    pub fn label(self) -> &'static str {
        match self {
            FileKind::Jpeg => "JPEG",
            FileKind::Png => "PNG",
            FileKind::Webp => "WebP",
            FileKind::Heic => "HEIC",
            FileKind::Pdf => "PDF",
        }
    }
}

pub fn detect(head: &[u8]) -> Option<FileKind> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(FileKind::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(FileKind::Png);
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Some(FileKind::Webp);
    }
    if head.len() >= 12
        && &head[4..8] == b"ftyp"
        && matches!(
            &head[8..12],
            b"heic" | b"heix" | b"heim" | b"heis" | b"mif1" | b"msf1" | b"avif"
        )
    {
        return Some(FileKind::Heic);
    }
    if head.starts_with(b"%PDF-") {
        return Some(FileKind::Pdf);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(detect(b"\xFF\xD8\xFF\xE0rest"), Some(FileKind::Jpeg));
        assert_eq!(detect(b"\x89PNG\r\n\x1a\n...."), Some(FileKind::Png));
        assert_eq!(detect(b"RIFF\0\0\0\0WEBPVP8 "), Some(FileKind::Webp));
        assert_eq!(detect(b"RIFF\0\0\0\0WAVEfmt "), None);
        assert_eq!(detect(b"\0\0\0\x18ftypheic\0\0"), Some(FileKind::Heic));
        assert_eq!(detect(b"%PDF-1.7\n"), Some(FileKind::Pdf));
        assert_eq!(detect(b"hello"), None);
        assert_eq!(detect(b""), None);
    }
}
