import { Link } from "react-router";
import { Page } from "../components/Page";

export function NotFoundPage() {
  return (
    <Page title="Page not found" narrow>
      <div className="card">
        <p>There is no page at this address. It may have moved, or the link may be mistyped.</p>
        <p>
          <Link to="/" className="button button-primary">
            Go to the home page
          </Link>
        </p>
      </div>
    </Page>
  );
}
