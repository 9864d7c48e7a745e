//! Handing rows from the reader's thread to the runtime a batch at a time.
//! A bounded channel wakes a blocked sender each time one slot frees up; a
//! reader that waits for half the channel to be free instead wakes once per
//! batch, which on two cores is the difference between a context switch per
//! row and one per dozens of rows.

use tokio::runtime::Handle;
use tokio::sync::mpsc;

pub struct Handoff<T> {
    sender: mpsc::Sender<T>,
    pending: Vec<T>,
    batch: usize,
    runtime: Handle,
}

impl<T> Handoff<T> {
    /// `runtime` drives the waits; the caller must not be one of its
    /// worker threads.
    pub fn new(sender: mpsc::Sender<T>, runtime: Handle) -> Self {
        let batch = (sender.max_capacity() / 2).max(1);
        Handoff {
            sender,
            pending: Vec::with_capacity(batch),
            batch,
            runtime,
        }
    }

    /// Queues an item and hands the batch over once it is full. When the
    /// receiver is gone, gives back the items it could not take.
    pub fn push(&mut self, item: T) -> Result<(), Vec<T>> {
        self.pending.push(item);
        if self.pending.len() < self.batch {
            return Ok(());
        }
        self.flush()
    }

    /// Whether the next [`Self::push`] hands a batch over, and so may wait.
    pub fn hands_over_next(&self) -> bool {
        self.pending.len() + 1 >= self.batch
    }

    /// Hands over whatever is queued, waiting for room for all of it.
    pub fn flush(&mut self) -> Result<(), Vec<T>> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let wanted = self.pending.len();
        match self.runtime.block_on(self.sender.reserve_many(wanted)) {
            Ok(permits) => {
                for (permit, item) in permits.zip(self.pending.drain(..)) {
                    permit.send(item);
                }
                Ok(())
            }
            Err(_) => Err(std::mem::take(&mut self.pending)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_arrives_in_order_and_leftovers_come_back() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (sender, mut receiver) = mpsc::channel(4);
        let mut handoff = Handoff::new(sender, runtime.handle().clone());
        let mut received = Vec::new();
        for i in 0..7 {
            handoff.push(i).unwrap();
            while let Ok(item) = receiver.try_recv() {
                received.push(item);
            }
        }
        handoff.flush().unwrap();
        while let Ok(item) = receiver.try_recv() {
            received.push(item);
        }
        assert_eq!(received, (0..7).collect::<Vec<_>>());

        drop(receiver);
        assert_eq!(handoff.push(7), Ok(()), "a batch is two items");
        assert_eq!(handoff.push(8), Err(vec![7, 8]));
    }
}
