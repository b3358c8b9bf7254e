import { useState } from "react";
import { errorMessage } from "../api/client";
import { deletePost } from "../api/posts";
import type { Post } from "../api/posts";
import { Avatar } from "./Avatar";
import { ConfirmButton } from "./ConfirmButton";
import { Time } from "./Time";

interface PostItemProps {
  post: Post;
  canDelete: boolean;
  onDeleted: (post: Post) => void;
}

export function PostItem({ post, canDelete, onDeleted }: PostItemProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");

  const onDelete = async () => {
    setBusy(true);
    setError("");
    try {
      await deletePost(post.id);
      onDeleted(post);
    } catch (e) {
      setError(errorMessage(e));
      setBusy(false);
    }
  };

  return (
    <li className="post">
      <div className="post-head">
        <Avatar user={post.author} size={36} />
        <div className="post-meta">
          <span className="post-author">{post.author.username}</span>
          <Time iso={post.created_at} relative />
        </div>
        {canDelete ? (
          <ConfirmButton
            label="Delete"
            question="Delete this post?"
            accessibleLabel={`Delete post by ${post.author.username}`}
            busy={busy}
            onConfirm={onDelete}
          />
        ) : null}
      </div>
      <p className="post-body">{post.body}</p>
      {error ? <p className="field-error" role="alert">{error}</p> : null}
    </li>
  );
}
