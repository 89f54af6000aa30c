"""custseg: customer segmentation with an autoencoder and k-means, as a PySpark job."""

__version__ = "0.1.0"
