use super::*;

#[tokio::test]
async fn history_then_live() {
    let bus = EventBus::new();
    bus.publish(EventType::Image, "tag", "sha256:1", BTreeMap::new());
    let (past, mut live) = bus.subscribe(Some(0));
    assert_eq!(past.len(), 1);
    assert_eq!(past[0].action, "tag");
    bus.publish(EventType::Container, "start", "c1", BTreeMap::new());
    let e = live.recv().await.unwrap();
    assert_eq!((e.kind, e.action.as_str()), (EventType::Container, "start"));
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["Type"], "container");
    assert_eq!(json["Actor"]["ID"], "c1");
}

#[test]
fn history_is_bounded() {
    let bus = EventBus::new();
    for i in 0..HISTORY + 10 {
        bus.publish(EventType::Image, "tag", &i.to_string(), BTreeMap::new());
    }
    let (past, _) = bus.subscribe(Some(0));
    assert_eq!(past.len(), HISTORY);
    assert_eq!(past[0].actor.id, "10");
}
