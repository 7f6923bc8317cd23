//! QR codes as inline SVG (no image request, no script), for enrolling an authenticator app.

use qrcode::QrCode;
use qrcode::render::svg;

/// An `<svg>` element encoding `text`, or `None` if it is too long for a QR code.
pub fn svg_for(text: &str, label: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    // The renderer emits an XML prolog, which has no place inside an HTML document.
    let start = image.find("<svg")?;
    let label = label.replace(['"', '<', '>', '&'], "");
    Some(image[start..].replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{label}\" "),
        1,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_an_inline_svg_element() {
        let svg = svg_for("otpauth://totp/x?secret=ABC", "QR code").unwrap();
        assert!(svg.starts_with("<svg role=\"img\" aria-label=\"QR code\""));
        assert!(!svg.contains("<?xml"));
        assert!(!svg.contains("style="));
    }
}
