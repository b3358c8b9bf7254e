import { useResource } from "@latchkey/client/react";
import { useState } from "react";
import { errorMessage } from "../api/client";
import { listPosts } from "../api/posts";
import type { Post } from "../api/posts";
import type { User } from "@latchkey/client";
import { hasRole, useAuth } from "../auth/AuthContext";
import { Alert } from "../components/Alert";
import { Page } from "../components/Page";
import { PostComposer } from "../components/PostComposer";
import { PostItem } from "../components/PostItem";

const PAGE_SIZE = 20;

export function HomePage() {
  // <RequireAuth> guarantees a user here.
  const user = useAuth().user as User;
  const feed = useFeed();
  const isAdmin = hasRole(user, "admin");

  return (
    <Page title="Home" heading={`Welcome, ${user.username}!`}>
      <PostComposer onPosted={feed.prepend} />
      <section aria-labelledby="feed-heading" className="feed">
        <h2 id="feed-heading">Latest posts</h2>
        <Alert message={feed.error} />
        {feed.posts === null ? (
          feed.error ? null : <p className="muted" role="status">Loading posts…</p>
        ) : feed.posts.length === 0 ? (
          <p className="empty">No posts yet. Write the first one above.</p>
        ) : (
          <ul className="post-list">
            {feed.posts.map((post) => (
              <PostItem key={post.id} post={post} canDelete={isAdmin || post.author.id === user.id} onDeleted={feed.remove} />
            ))}
          </ul>
        )}
        {feed.next !== null ? (
          <button type="button" className="button button-block" onClick={feed.loadMore} disabled={feed.loading}>
            {feed.loading ? "Loading…" : "Load older posts"}
          </button>
        ) : null}
      </section>
    </Page>
  );
}

/** The newest posts, with older ones appended page by page through the `before` cursor. */
function useFeed() {
  const first = useResource((signal) => listPosts({ limit: PAGE_SIZE }, signal), []);
  const { update } = first;
  const [more, setMore] = useState({ loading: false, error: "" });
  const next = first.data?.next ?? null;

  const loadMore = async () => {
    if (next === null) return;
    setMore({ loading: true, error: "" });
    try {
      const page = await listPosts({ limit: PAGE_SIZE, before: next });
      update((feed) => ({ posts: [...feed.posts, ...page.posts], next: page.next ?? null }));
      setMore({ loading: false, error: "" });
    } catch (e) {
      setMore({ loading: false, error: errorMessage(e) });
    }
  };

  return {
    posts: first.data?.posts ?? null,
    next,
    loading: first.loading || more.loading,
    error: first.error ? errorMessage(first.error) : more.error,
    loadMore: () => void loadMore(),
    prepend: (post: Post) => update((feed) => ({ ...feed, posts: [post, ...feed.posts] })),
    remove: (post: Post) => update((feed) => ({ ...feed, posts: feed.posts.filter((p) => p.id !== post.id) })),
  };
}
