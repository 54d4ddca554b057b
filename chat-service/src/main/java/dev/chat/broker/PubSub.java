package dev.chat.broker;

import io.vertx.core.Future;

/**
 * The live stream of a broker: {@link RedisSubscriber} on a standalone Redis, {@link
 * ShardedSubscriber} on a Redis Cluster. A subscribe completes once the server confirmed it.
 */
interface PubSub {

  Future<Void> start();

  Future<Void> subscribe(String channel);

  Future<Void> unsubscribe(String channel);

  /** True while every wanted channel is confirmed. */
  boolean live();

  Future<Void> close();
}
