package chat

import "github.com/smpkit/smpkit/reference/db"

// column runs a query that selects one column and returns its values in
// order. The rows are closed before it returns, so the caller may write in
// the same transaction right after.
func column[T any](tx *db.Tx, query string, args ...any) ([]T, error) {
	rows, err := tx.Query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
