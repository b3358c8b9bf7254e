import { useEffect, useState } from "react";
import { errorMessage } from "../api/client";
import { listPosts } from "../api/posts";
import type { Post, User } from "../api/types";
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
  const [posts, setPosts] = useState<Post[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState("");

  useEffect(() => {
    let live = true;
    listPosts({ limit: PAGE_SIZE }).then(
      (page) => {
        if (!live) return;
        setPosts(page.posts);
        setNext(page.next);
        setLoading(false);
      },
      (e: unknown) => {
        if (!live) return;
        setError(errorMessage(e));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, []);

  const loadMore = async () => {
    if (next === null) return;
    setLoading(true);
    setError("");
    try {
      const page = await listPosts({ limit: PAGE_SIZE, before: next });
      setPosts((current) => [...(current ?? []), ...page.posts]);
      setNext(page.next);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setLoading(false);
    }
  };

  return {
    posts,
    next,
    loading,
    error,
    loadMore: () => void loadMore(),
    prepend: (post: Post) => setPosts((current) => [post, ...(current ?? [])]),
    remove: (post: Post) => setPosts((current) => (current ?? []).filter((p) => p.id !== post.id)),
  };
}
