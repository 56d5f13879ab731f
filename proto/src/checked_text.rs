//! What every newtype over already-checked text offers: the text, and the text as its display.

/// `as_str` and `Display` for each named newtype over a `String` that its constructor checked:
/// the checked text is all there is to show, so every such type shows it the same way.
#[macro_export]
macro_rules! checked_text {
    ($($name:ident),+ $(,)?) => {$(
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    )+};
}
