//! Receipts as PDF (placeholder until the font-embedding writer lands).

use tolom_core::i18n::Language;
use tolom_core::receipt::Receipt;

/// The receipt as a PDF document.
pub fn receipt_pdf(r: &Receipt, lang: Language, _verify_url: &str) -> Vec<u8> {
    r.to_text(lang).into_bytes()
}
