//! The benchmark's script (../shared/bench/support-dialogue.md): what conversation `c` says at
//! each turn and the one reply it must get. A line is kept as its parts, so a reply is checked
//! without making the expected text: the harness's own work counts in the measured time.

/// A line of the script: fixed text, or fixed text around a conversation's order number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    before: &'static str,
    /// The conversation whose order number (`ORD-` and five digits of c mod 100,000) follows
    /// `before`, then `after`.
    order_of: Option<usize>,
    after: &'static str,
}

impl Line {
    const fn fixed(text: &'static str) -> Self {
        Self { before: text, order_of: None, after: "" }
    }

    const fn with_order(c: usize, before: &'static str, after: &'static str) -> Self {
        Self { before, order_of: Some(c), after }
    }

    /// The line's text in its parts, the order number's digits written into `digits`.
    fn parts<'a>(&self, digits: &'a mut itoa::Buffer) -> [&'a str; 5] {
        match self.order_of {
            None => [self.before, "", "", "", ""],
            Some(c) => {
                let digits = digits.format(c % 100_000);
                [self.before, "ORD-", &"00000"[digits.len()..], digits, self.after]
            }
        }
    }

    /// Whether `text` is this line, exactly: its length first, then each part that has any
    /// text (a comparison is a call, even of nothing).
    pub fn is(&self, text: &str) -> bool {
        let mut digits = itoa::Buffer::new();
        let parts = self.parts(&mut digits);
        if parts.iter().map(|part| part.len()).sum::<usize>() != text.len() {
            return false;
        }
        let mut rest = text.as_bytes();
        parts.iter().filter(|part| !part.is_empty()).all(|part| {
            let (head, tail) = rest.split_at(part.len());
            rest = tail;
            head == part.as_bytes()
        })
    }

    /// The line's text, made without `format!`.
    pub fn text(&self) -> String {
        self.parts(&mut itoa::Buffer::new()).concat()
    }

    /// Write the line's text over what `out` held, in its room.
    pub fn write_over(&self, out: &mut String) {
        out.clear();
        self.parts(&mut itoa::Buffer::new()).iter().for_each(|part| out.push_str(part));
    }
}

/// What conversation `c` says at `turn` (1-5).
pub fn says(c: usize, turn: usize) -> Line {
    match turn {
        1 => Line::fixed("hi"),
        2 => Line::fixed("it's 12345"),
        3 => Line::with_order(c, "my order is ", ""),
        4 if is_angry(c) => Line::fixed("This is the worst service ever, I am furious!"),
        4 => Line::fixed("The package arrived damaged, can you help?"),
        _ => Line::fixed("thanks"),
    }
}

/// The one reply conversation `c` must get at `turn` (1-5).
pub fn reply(c: usize, turn: usize) -> Line {
    match turn {
        1 => Line::fixed("Hi! I'm the support bot. What is your order number?"),
        2 => Line::fixed("Sorry, that is not a valid order number (format ABC-12345). Please try again."),
        3 => Line::with_order(c, "Thanks, order ", ". Please describe the issue."),
        4 if is_angry(c) => Line::fixed("I'm sorry for the trouble. I'm transferring you to a human agent (Alice)."),
        4 => Line::with_order(c, "I've opened a ticket for ", ". Anything else?"),
        _ if is_angry(c) => Line::fixed("Agent Alice has been notified and will join shortly."),
        _ => Line::fixed("Glad I could help. Goodbye!"),
    }
}

/// Every fifth customer is angry and is handed to agent Alice.
fn is_angry(c: usize) -> bool {
    c.is_multiple_of(5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers_are_five_digits_of_the_conversation_modulo_100000() {
        assert_eq!(says(42, 3).text(), "my order is ORD-00042");
        assert_eq!(reply(123_456, 3).text(), "Thanks, order ORD-23456. Please describe the issue.");
        assert_eq!(reply(7, 4).text(), "I've opened a ticket for ORD-00007. Anything else?");
        assert_eq!(says(100_000, 3).text(), "my order is ORD-00000");
        assert_eq!(says(10, 4).text(), "This is the worst service ever, I am furious!");
        assert_eq!(reply(10, 5).text(), "Agent Alice has been notified and will join shortly.");
    }

    #[test]
    fn a_reply_is_matched_whole() {
        let ticket = reply(7, 4);
        assert!(ticket.is("I've opened a ticket for ORD-00007. Anything else?"));
        for wrong in [
            "I've opened a ticket for ORD-00007. Anything else?!",
            "I've opened a ticket for ORD-00007.",
            "I've opened a ticket for ORD-0007. Anything else?",
            "I've opened a ticket for ORD-00070. Anything else?",
            "",
        ] {
            assert!(!ticket.is(wrong), "{wrong:?}");
        }
        assert!(reply(1, 1).is("Hi! I'm the support bot. What is your order number?"));
        assert!(!reply(1, 1).is("Hi! I'm the support bot."));
    }
}
