//! `feeds add|list|remove|poll-now`: iCalendar feeds as a booking source.

use booking_activities::feeds::{FeedConfig, FeedName};
use booking_starter::feeds;
use clap::Subcommand;

use super::{InvalidArgument, Output};

#[derive(Subcommand)]
pub enum FeedsCommand {
    /// Add a feed (a schedule polling it), or change an existing feed's configuration.
    Add {
        /// The feed's name: lower-case letters, digits and '-' (at most 32).
        name: String,
        /// The feed's http(s) URL.
        #[arg(long)]
        url: String,
        /// The agent every booking of the feed is with.
        #[arg(long)]
        agent: String,
        /// The property (boat, venue) the feed is for [default: the feed's name].
        #[arg(long)]
        property: Option<String>,
        /// Seconds between polls (60 to 86400).
        #[arg(long, default_value_t = 900)]
        every: u64,
        /// Address booked for events that name no attendee.
        #[arg(long)]
        fallback_email: Option<String>,
    },
    /// List the feeds, with what their last poll did and any that need attention.
    List,
    /// Remove a feed's schedule (its bookings stay as they are).
    Remove { name: String },
    /// Poll a feed now.
    PollNow {
        name: String,
        /// Apply a feed held for dropping most of its events, once (after checking the feed).
        #[arg(long)]
        accept_drop: bool,
    },
}

fn feed_name(raw: &str) -> anyhow::Result<FeedName> {
    FeedName::parse(raw).map_err(|m| InvalidArgument(format!("feed name {raw:?} {m}")).into())
}

pub async fn run(command: FeedsCommand, task_queue: &str, out: Output) -> anyhow::Result<()> {
    // Arguments are checked before connecting, so a typo is exit 2 even with Temporal down.
    match command {
        FeedsCommand::Add {
            name,
            url,
            agent,
            property,
            every,
            fallback_email,
        } => {
            let name = feed_name(&name)?;
            let config = FeedConfig {
                property_id: property.unwrap_or_else(|| name.to_string()),
                name: name.clone(),
                url,
                agent_id: agent,
                poll_interval_secs: every,
                fallback_email,
            };
            if let Err(errors) = config.validate() {
                let listed: Vec<String> = errors.iter().map(|e| format!("--{e}")).collect();
                return Err(InvalidArgument(listed.join("; ")).into());
            }
            let client = booking_worker::connect().await?;
            let done = feeds::add(&client, task_queue, config).await?;
            out.print(
                &serde_json::json!({ "feed": name.as_str(), "schedule_id": name.schedule_id(), "result": done }),
                || format!("feed {name} {done:?} (schedule {})", name.schedule_id()).to_lowercase(),
            );
        }
        FeedsCommand::List => {
            let client = booking_worker::connect().await?;
            let views = feeds::list(&client).await?;
            out.print(&views, || {
                if views.is_empty() {
                    return "no feeds; add one with `bookings feeds add`".to_owned();
                }
                views
                    .iter()
                    .map(|v| {
                        let mut line = format!(
                            "{}  every {}s  agent {}  property {}  {} upcoming  last poll {} ({}){}\n  {}",
                            v.name,
                            v.poll_interval_secs,
                            v.agent_id,
                            v.property_id,
                            v.upcoming_bookings,
                            v.last_poll.map_or("never".into(), |t| t.to_rfc3339()),
                            v.last_outcome.as_deref().unwrap_or("-"),
                            if v.paused { "  PAUSED" } else { "" },
                            v.url,
                        );
                        if let Some(reason) = &v.attention {
                            line.push_str(&format!("\n  NEEDS ATTENTION: {reason}"));
                        }
                        line
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        FeedsCommand::Remove { name } => {
            let name = feed_name(&name)?;
            let client = booking_worker::connect().await?;
            feeds::remove(&client, &name).await?;
            out.print(
                &serde_json::json!({ "feed": name.as_str(), "removed": true }),
                || format!("feed {name} removed; its bookings are unchanged"),
            );
        }
        FeedsCommand::PollNow { name, accept_drop } => {
            let name = feed_name(&name)?;
            let client = booking_worker::connect().await?;
            feeds::poll_now(&client, &name, accept_drop).await?;
            out.print(
                &serde_json::json!({ "feed": name.as_str(), "triggered": true, "acceptDrop": accept_drop }),
                || format!("feed {name} poll started"),
            );
        }
    }
    Ok(())
}
