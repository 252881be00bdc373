"""Files <-> documents: the input readers, the Parquet writer and HTML text extraction."""
