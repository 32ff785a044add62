use futures_util::StreamExt;

use super::*;

async fn sizes(n: usize) -> Vec<usize> {
    let items: Vec<usize> = (0..n).collect();
    batches(&items, |batch| batch)
        .map(|m| m.unwrap().len())
        .collect()
        .await
}

#[tokio::test]
async fn every_item_once_in_messages_of_at_most_one_hundred_none_empty() {
    assert_eq!(sizes(0).await, Vec::<usize>::new());
    assert_eq!(sizes(1).await, [1]);
    assert_eq!(sizes(100).await, [100]);
    assert_eq!(sizes(250).await, [100, 100, 50]);
    let items: Vec<usize> = (0..250).collect();
    let all: Vec<usize> = batches(&items, |b| b)
        .flat_map(|m| futures_util::stream::iter(m.unwrap()))
        .collect()
        .await;
    assert_eq!(all, items);
}
