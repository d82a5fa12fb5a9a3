select file, kind, academic_year, version, rows, encoding, year_evidence, status from source_file order by file
