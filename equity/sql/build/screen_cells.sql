-- Where the implausible tokens of screen_bad.sql (registered as _bad_tokens) sit: row, column (as
-- written in the header), the raw cell, the problem and its rule, in row then column order. Run
-- only over the columns that hold one (slot names: their quoted header names).
select u._row as row, u.col as "column", u.raw, b.problem, b.rule
from (unpivot (select _row, {names} from {table}) on {names} into name col value raw) u
join _bad_tokens b on b.col = u.col and b.raw = u.raw
order by u._row, u.col;
