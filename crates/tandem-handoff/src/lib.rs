//! The human side of Tandem: who the agents and teams are ([`Roster`]), when they work
//! ([`WeeklyHours`], time zones and DST), and the live routing state ([`Desk`]): who is
//! talking to whom, the queue, positions and ETAs, and who gets the next chat.

mod desk;
mod roster;
mod schedule;

pub use desk::{Decision, Desk};
pub use roster::{Agent, Roster, Team};
pub use schedule::{WeeklyHours, instant, plain_words};
