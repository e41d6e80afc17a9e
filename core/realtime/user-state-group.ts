// Which user-state object holds a user: a pure function of the id, shared by the Worker (worker/state/user-state.ts)
// and the tools that drive it (the reliability run's load section starts every group before its clock).

/**
 * Users are spread over a fixed number of objects by a hash of their id. One object per user created an object
 * (and its storage) at every first request of a user, even one who never sent an event: under traffic spread over
 * many rarely-seen users, workerd's memory and the state storage grew with every new id. A fixed set of objects
 * stays warm, and a user without state costs one indexed read in an object that already exists. The price: the
 * users of one group share its single thread, and changing the count moves users to other objects (their state
 * stays behind), so it is a constant, not a setting.
 */
export const USER_STATE_GROUPS = 64;

/** FNV-1a over the UTF-16 code units of the id: stable across isolates and runtimes, and spreads short ids evenly. */
export function userStateGroup(userId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) hash = Math.imul(hash ^ userId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % USER_STATE_GROUPS;
}
