//! A tally of header reads, kept by test builds only: the check that each parser reads an
//! input's header once per job (probe and process together).

#[cfg(test)]
thread_local! {
    static READS: std::cell::RefCell<Vec<&'static str>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Notes that `parser` read a header on this thread (nothing outside tests).
pub(in crate::image) fn header_read(parser: &'static str) {
    #[cfg(test)]
    READS.with(|r| r.borrow_mut().push(parser));
    #[cfg(not(test))]
    let _ = parser;
}

/// The header reads on this thread since the last call, in order.
#[cfg(test)]
pub(in crate::image) fn take() -> Vec<&'static str> {
    READS.with(|r| r.take())
}
