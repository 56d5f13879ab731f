//! `dead-letters`, `retry`, `skip`: the operator's worklist.

use booking_starter::operator;

use super::{Output, operator_name, output};

pub async fn dead_letters(out: Output) -> anyhow::Result<()> {
    let client = booking_worker::connect().await?;
    let items = operator::worklist(&client).await?;
    out.print(&items, || output::worklist_text(&items));
    Ok(())
}

pub async fn retry(id: &str, out: Output) -> anyhow::Result<()> {
    let client = booking_worker::connect().await?;
    let done = operator::retry(&client, id, &operator_name()).await?;
    out.print(&done, || format!("{} sent to {}", done.signal, done.id));
    Ok(())
}

pub async fn skip(id: &str, out: Output) -> anyhow::Result<()> {
    let client = booking_worker::connect().await?;
    let done = operator::skip(&client, id, &operator_name()).await?;
    out.print(&done, || format!("{} sent to {}", done.signal, done.id));
    Ok(())
}
